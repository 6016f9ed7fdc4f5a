//! Gmail's message resource (`messages.get`) made into plain columns: the headers people read, the date, the
//! labels and the body as text. Gmail gives the MIME tree as JSON: each part has its headers and, for leaf
//! parts, `body.data`, the part's content (transfer encoding undone) in base64url, in the part's charset.

use base64::Engine;
use serde_json::{Map, Value};

/// The members a message adds to its listed record: `subject`, `from`, `to`, `cc`, `date` (RFC 3339, from
/// `internalDate`), `snippet`, `labels` and, when the body was asked for (`format=full`), `body_text`.
pub fn decode_message(message: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let payload = message.get("payload");
    let headers = payload.and_then(|p| p.get("headers"));
    for (member, header) in [("subject", "Subject"), ("from", "From"), ("to", "To"), ("cc", "Cc")] {
        let value = header_value(headers, header).map(|v| Value::String(decode_encoded_words(v)));
        out.insert(member.into(), value.unwrap_or(Value::Null));
    }
    // The time Gmail received the message, in milliseconds: the Date header is the sender's claim.
    let date = message
        .get("internalDate")
        .and_then(|v| v.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| v.as_i64()))
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| Value::String(t.to_rfc3339()));
    out.insert("date".into(), date.unwrap_or(Value::Null));
    out.insert("snippet".into(), message.get("snippet").cloned().unwrap_or(Value::Null));
    out.insert("labels".into(), message.get("labelIds").cloned().unwrap_or(Value::Array(Vec::new())));
    // Only a full message has bodies: metadata has headers alone.
    let body = payload.filter(|p| has_body(p)).map(|p| body_text(p).map(Value::String).unwrap_or(Value::Null));
    if let Some(body) = body {
        out.insert("body_text".into(), body);
    }
    out
}

/// A header's value; names are case-insensitive.
fn header_value<'a>(headers: Option<&'a Value>, name: &str) -> Option<&'a str> {
    headers?.as_array()?.iter().find_map(|h| {
        let found = h.get("name")?.as_str()?.eq_ignore_ascii_case(name);
        found.then(|| h.get("value")?.as_str()).flatten()
    })
}

fn has_body(part: &Value) -> bool {
    part.get("body").is_some_and(|b| b.get("data").is_some() || b.get("size").is_some())
        || part.get("parts").and_then(Value::as_array).is_some_and(|parts| !parts.is_empty())
}

/// The message's text: its first `text/plain` part, else its first `text/html` part without markup.
/// Attachments (parts with a file name) are not text.
fn body_text(payload: &Value) -> Option<String> {
    let mut leaves = Vec::new();
    collect_leaves(payload, &mut leaves);
    let find = |mime: &str| leaves.iter().find(|p| mime_type(p).eq_ignore_ascii_case(mime)).and_then(|p| part_text(p));
    find("text/plain").or_else(|| find("text/html").map(|html| strip_html(&html)))
}

fn collect_leaves<'a>(part: &'a Value, leaves: &mut Vec<&'a Value>) {
    match part.get("parts").and_then(Value::as_array) {
        Some(parts) if !parts.is_empty() => parts.iter().for_each(|p| collect_leaves(p, leaves)),
        _ if part.get("filename").and_then(Value::as_str).is_some_and(|f| !f.is_empty()) => {}
        _ => leaves.push(part),
    }
}

fn mime_type(part: &Value) -> &str {
    part.get("mimeType").and_then(Value::as_str).unwrap_or("")
}

/// A leaf part's content decoded from base64url and from its charset (UTF-8 when none is named or the
/// name is unknown; invalid bytes become U+FFFD rather than an error).
fn part_text(part: &Value) -> Option<String> {
    let data = part.get("body")?.get("data")?.as_str()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data.trim_end_matches('=')).ok()?;
    let charset = header_value(part.get("headers"), "Content-Type").and_then(charset_of);
    let encoding = charset.and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes())).unwrap_or(encoding_rs::UTF_8);
    Some(encoding.decode(&bytes).0.into_owned())
}

/// `charset=…` of a Content-Type value.
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_string())
    })
}

/// RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?ISO-8859-1?Q?…?=`) in a header value, decoded; anything
/// that does not decode is kept as written. Whitespace between two encoded words is dropped.
pub fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        let decoded = encoded_word(candidate);
        match decoded {
            Some((text, used)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &candidate[used..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `text`: its decoded text and its length.
fn encoded_word(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix("=?")?;
    let charset_end = inner.find('?')?;
    let encoding_end = charset_end + 1 + inner[charset_end + 1..].find('?')?;
    let data_end = encoding_end + 1 + inner[encoding_end + 1..].find("?=")?;
    let data = &inner[encoding_end + 1..data_end];
    let bytes = match &inner[charset_end + 1..encoding_end] {
        "B" | "b" => base64::engine::general_purpose::STANDARD.decode(data).ok()?,
        "Q" | "q" => quoted_printable_word(data)?,
        _ => return None,
    };
    // `charset*language` (RFC 2231) names the charset first.
    let charset = inner[..charset_end].split('*').next()?;
    let encoding = encoding_rs::Encoding::for_label(charset.as_bytes())?;
    Some((encoding.decode(&bytes).0.into_owned(), 2 + data_end + 2))
}

fn quoted_printable_word(data: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let bytes = data.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// The text of an HTML body: scripts and styles dropped, block ends and `<br>` as line breaks, tags
/// removed, the usual entities decoded, blank runs collapsed.
pub fn strip_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let Some(offset) = html[i..].find('<') else {
            text.push_str(&html[i..]);
            break;
        };
        text.push_str(&html[i..i + offset]);
        let tag_start = i + offset;
        let Some(tag_len) = html[tag_start..].find('>') else { break };
        let tag = &lower[tag_start + 1..tag_start + tag_len];
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        i = tag_start + tag_len + 1;
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            // Skip to the closing tag.
            i = lower[i..].find(&format!("</{name}")).map_or(html.len(), |end| i + end);
            continue;
        }
        if matches!(name.as_str(), "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
            && (name == "br" || tag.starts_with('/'))
        {
            text.push('\n');
        }
    }
    let decoded = decode_entities(&text);
    let lines: Vec<String> =
        decoded.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect();
    lines.join("\n")
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let entity = tail.find(';').filter(|&end| end <= 10).map(|end| (&tail[1..end], end + 1));
        let decoded = entity.and_then(|(name, len)| {
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => name.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, len))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(text: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn headers_date_and_labels_of_a_metadata_message() {
        let message = json!({
            "id": "m1", "labelIds": ["INBOX", "UNREAD"], "snippet": "Hi there", "internalDate": "1704067200000",
            "payload": { "mimeType": "multipart/alternative", "headers": [
                { "name": "SUBJECT", "value": "=?UTF-8?B?Q2Fmw6k=?= =?ISO-8859-1?Q?_cr=E8me?= ok" },
                { "name": "From", "value": "Alice <alice@example.com>" }, { "name": "To", "value": "me@example.com" }
            ] }
        });
        let out = decode_message(&message);
        assert_eq!(out["subject"], "Café crème ok");
        assert_eq!(out["from"], "Alice <alice@example.com>");
        assert_eq!(out["cc"], Value::Null);
        assert_eq!(out["date"], "2024-01-01T00:00:00+00:00");
        assert_eq!(out["labels"], json!(["INBOX", "UNREAD"]));
        assert!(!out.contains_key("body_text"), "metadata has no body: the column stays unread");
    }

    #[test]
    fn the_plain_part_is_preferred_and_its_charset_honoured() {
        let latin1 = b"Caf\xe9 au lait";
        let message = json!({ "payload": { "mimeType": "multipart/mixed", "parts": [
            { "mimeType": "multipart/alternative", "parts": [
                { "mimeType": "text/html", "body": { "data": b64(b"<p>HTML</p>") } },
                { "mimeType": "text/plain", "headers": [{ "name": "Content-Type", "value": "text/plain; charset=\"ISO-8859-1\"" }],
                  "body": { "data": b64(latin1) } }
            ] },
            { "mimeType": "text/plain", "filename": "notes.txt", "body": { "attachmentId": "a1", "size": 10 } }
        ] } });
        assert_eq!(decode_message(&message)["body_text"], "Café au lait");
    }

    #[test]
    fn an_html_only_body_loses_its_markup() {
        let html = b"<html><style>p{color:red}</style><body><p>Hello&nbsp;<b>Bob</b> &amp; co</p><div>Line&#32;2<br>3 &lt;ok&gt;</div><script>x()</script></body></html>";
        let message = json!({ "payload": { "mimeType": "text/html", "body": { "data": b64(html), "size": 1 } } });
        assert_eq!(decode_message(&message)["body_text"], "Hello Bob & co\nLine 2\n3 <ok>");
        // Undecodable data and unknown charsets are not errors.
        let bad = json!({ "payload": { "mimeType": "text/plain", "body": { "data": "***", "size": 3 } } });
        assert_eq!(decode_message(&bad)["body_text"], Value::Null);
    }

    #[test]
    fn malformed_encoded_words_are_kept() {
        assert_eq!(decode_encoded_words("=?UTF-8?X?abc?= and =?broken"), "=?UTF-8?X?abc?= and =?broken");
        assert_eq!(decode_encoded_words("plain"), "plain");
        assert_eq!(decode_encoded_words("a =?utf-8?q?b=3Dc?= d"), "a b=c d");
    }
}
