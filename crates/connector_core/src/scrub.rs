//! Removing credentials from what a provider sends back. A hostile or careless provider may echo a request's
//! headers or query string (in an error, a text body, a row value); whatever of it is quoted to a database
//! role (errors, logs, `sync_runs`, scanned rows, proxy answers) first passes through a [`Scrubber`] built
//! from every credential the request carried, in every form it was sent in: as is, URL-encoded, JSON-escaped,
//! and Basic's base64 of `user:password`.
//!
//! Scrubbing works on bytes (a body need not be UTF-8) and must run before any truncation, so a cut never
//! leaves most of a credential behind.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use serde_json::Value;

pub const REDACTED: &str = "REDACTED";

/// Credentials shorter than this are not searched for: they would match ordinary text everywhere.
const MIN_LEN: usize = 4;

/// One credential as a request sends it.
#[derive(Clone, Debug)]
pub enum Credential {
    /// Sent as is (a token, an API key, a client secret).
    Plain(String),
    /// Sent as HTTP Basic, `base64(user:password)`; the password alone is scrubbed too. With `form_encoded`
    /// (OAuth client authentication, RFC 6749 §2.3.1) both parts are form-urlencoded before joining.
    Basic { user: String, password: String, form_encoded: bool },
}

/// Finds every form of a request's credentials in provider text.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    matcher: Option<AhoCorasick>,
    /// The longest pattern, so a stream can hold back a tail that may start one.
    longest: usize,
}

impl Scrubber {
    pub fn new<'a>(credentials: impl IntoIterator<Item = &'a Credential>) -> Scrubber {
        let mut patterns: Vec<String> = Vec::new();
        for credential in credentials {
            match credential {
                Credential::Plain(secret) => forms(secret, &mut patterns),
                Credential::Basic { user, password, form_encoded } => {
                    forms(password, &mut patterns);
                    let pair = if *form_encoded {
                        format!("{}:{}", form_encode(user), form_encode(password))
                    } else {
                        format!("{user}:{password}")
                    };
                    if password.len() >= MIN_LEN {
                        for engine in
                            [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::URL_SAFE]
                        {
                            // Padded when whole, unpadded as some echo it.
                            let encoded = engine.encode(&pair);
                            patterns.push(encoded.trim_end_matches('=').to_string());
                            patterns.push(encoded);
                        }
                    }
                }
            }
        }
        patterns.sort();
        patterns.dedup();
        if patterns.is_empty() {
            return Scrubber::default();
        }
        let longest = patterns.iter().map(String::len).max().unwrap_or(0);
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("a few short literal patterns always build");
        Scrubber { matcher: Some(matcher), longest }
    }

    /// A scrubber for plain credentials.
    pub fn of_secrets<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let credentials: Vec<Credential> = secrets.into_iter().map(|s| Credential::Plain(s.to_string())).collect();
        Scrubber::new(&credentials)
    }

    /// Whether `bytes` hold a credential in one of the forms searched for.
    pub fn finds(&self, bytes: &[u8]) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(bytes))
    }

    /// `bytes` with every credential replaced by `REDACTED`.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.matcher {
            Some(m) if m.is_match(bytes) => m.replace_all_bytes(bytes, &vec![REDACTED.as_bytes(); m.patterns_len()]),
            _ => bytes.to_vec(),
        }
    }

    /// `text` with every credential replaced by `REDACTED`.
    pub fn text(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) if m.is_match(text) => m.replace_all(text, &vec![REDACTED; m.patterns_len()]),
            _ => text.to_string(),
        }
    }

    /// Provider bytes as text for a message: scrubbed first, then made UTF-8.
    pub fn lossy(&self, bytes: &[u8]) -> String {
        String::from_utf8_lossy(&self.bytes(bytes)).into_owned()
    }

    /// A parsed JSON body with credentials removed from its strings (escapes already decoded, so any mix of
    /// `\uXXXX` escapes is caught), member names, and numbers whose digits hold one (then a string).
    /// `raw` is the body as received: without a backslash, decoded strings equal their raw bytes, so a body
    /// in which no credential is found needs no walk.
    pub fn json(&self, raw: &[u8], value: &mut Value) {
        let Some(matcher) = &self.matcher else { return };
        if !raw.contains(&b'\\') && !matcher.is_match(raw) {
            return;
        }
        self.walk(value);
    }

    fn walk(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if self.finds(s.as_bytes()) {
                    *s = self.text(s);
                }
            }
            Value::Number(n) => {
                let digits = n.to_string();
                if self.finds(digits.as_bytes()) {
                    *value = Value::String(self.text(&digits));
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.walk(v)),
            Value::Object(members) => {
                if members.keys().any(|k| self.finds(k.as_bytes())) {
                    let taken = std::mem::take(members);
                    *members = taken.into_iter().map(|(k, v)| (self.text(&k), v)).collect();
                }
                members.values_mut().for_each(|v| self.walk(v));
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// A scrubber for a stream of chunks (a credential may be cut between two).
    pub fn stream(&self) -> StreamScrubber {
        StreamScrubber { scrubber: self.clone(), held: Vec::new() }
    }
}

/// Scrubs a body that arrives in chunks: holds back the end of each chunk that may begin a credential.
pub struct StreamScrubber {
    scrubber: Scrubber,
    held: Vec<u8>,
}

impl StreamScrubber {
    /// The scrubbed bytes that can be passed on after `chunk`; `last` flushes what is held.
    pub fn push(&mut self, chunk: &[u8], last: bool) -> Vec<u8> {
        let Some(matcher) = &self.scrubber.matcher else { return chunk.to_vec() };
        self.held.extend_from_slice(chunk);
        let data = std::mem::take(&mut self.held);
        if last {
            return self.scrubber.bytes(&data);
        }
        // Every pattern starting before `limit` lies wholly in `data`, so a match found there is final; one
        // starting later may be cut off or grow with the next chunk.
        let limit = data.len().saturating_sub(self.scrubber.longest - 1);
        let mut out = Vec::with_capacity(data.len());
        let mut cursor = 0;
        for found in matcher.find_iter(&data) {
            if found.start() >= limit {
                break;
            }
            out.extend_from_slice(&data[cursor..found.start()]);
            out.extend_from_slice(REDACTED.as_bytes());
            cursor = found.end();
        }
        let emit_to = cursor.max(limit);
        out.extend_from_slice(&data[cursor..emit_to]);
        self.held = data[emit_to..].to_vec();
        out
    }
}

fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The forms one credential is sent in or echoed as.
fn forms(secret: &str, out: &mut Vec<String>) {
    if secret.len() < MIN_LEN {
        return;
    }
    out.push(secret.to_string());
    // URL-encoded: as a query value or form field (space as `+`), as a path or percent-encoded (`%20`),
    // with upper- or lower-case hex.
    let form = form_encode(secret);
    let percent = form.replace('+', "%20");
    out.push(lowercase_hex(&percent));
    out.push(percent);
    out.push(form);
    // JSON-escaped: as serde writes it, with `\/`, and with every character as `\uXXXX`.
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json[1..json.len() - 1].to_string();
    out.push(json.replace('/', "\\/"));
    out.push(json);
    let escaped: String = secret.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
    out.push(escaped.to_uppercase().replace("\\U", "\\u"));
    out.push(escaped);
}

/// `%2F` → `%2f`, the rest unchanged.
fn lowercase_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at..at + 3).unwrap_or(&rest[at..]);
        out.push_str(&code.to_ascii_lowercase());
        rest = &rest[at + code.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "SEKRET/tok+en 42";

    fn scrubber() -> Scrubber {
        Scrubber::new(&[
            Credential::Plain(TOKEN.into()),
            Credential::Basic { user: "alice".into(), password: "pa:ss word".into(), form_encoded: false },
        ])
    }

    #[test]
    fn every_form_of_a_credential_is_removed() {
        let s = scrubber();
        let echoed = [
            TOKEN.to_string(),
            "SEKRET%2Ftok%2Ben+42".into(),
            "SEKRET%2Ftok%2Ben%2042".into(),
            "SEKRET%2ftok%2ben%2042".into(),
            "SEKRET\\/tok+en 42".into(),
            TOKEN.encode_utf16().map(|u| format!("\\u{u:04X}")).collect::<String>(),
            TOKEN.encode_utf16().map(|u| format!("\\u{u:04x}")).collect::<String>(),
            base64::engine::general_purpose::STANDARD.encode("alice:pa:ss word"),
            "pa:ss word".into(),
        ];
        for form in echoed {
            let text = format!("Authorization: Basic <{form}>");
            assert_eq!(s.text(&text), "Authorization: Basic <REDACTED>", "{form}");
        }
    }

    #[test]
    fn bytes_need_not_be_utf8() {
        let s = scrubber();
        let mut body = vec![0xff, 0xfe];
        body.extend_from_slice(TOKEN.as_bytes());
        body.push(0x80);
        assert_eq!(s.bytes(&body), [&[0xff, 0xfe][..], b"REDACTED", &[0x80]].concat());
        assert!(!s.lossy(&body).contains("SEKRET"));
    }

    #[test]
    fn oauth_client_credentials_are_form_encoded_before_base64() {
        let s = Scrubber::new(&[Credential::Basic {
            user: "my id".into(),
            password: "s3cret&x".into(),
            form_encoded: true,
        }]);
        let sent = base64::engine::general_purpose::STANDARD.encode("my+id:s3cret%26x");
        assert_eq!(s.text(&format!("got {sent}")), "got REDACTED");
        assert_eq!(s.text("client_secret=s3cret%26x"), "client_secret=REDACTED");
    }

    #[test]
    fn json_values_are_scrubbed_after_decoding() {
        let s = scrubber();
        // A mix of escapes no byte pattern lists.
        let raw = br#"{"echo":"\u0053EKRET\/tok+en 42","SEKRET/tok+en 42":1,"n":[7]}"#;
        let mut value: Value = serde_json::from_slice(raw).unwrap();
        s.json(raw, &mut value);
        assert_eq!(value, json!({"echo": "REDACTED", "REDACTED": 1, "n": [7]}));
        // Digits holding a numeric credential become a string.
        let s = Scrubber::of_secrets(["12345678"]);
        let raw = br#"{"id":123456789}"#;
        let mut value: Value = serde_json::from_slice(raw).unwrap();
        s.json(raw, &mut value);
        assert_eq!(value, json!({"id": "REDACTED9"}));
        // Nothing found, nothing walked or changed.
        let raw = br#"{"id":1}"#;
        let mut value: Value = serde_json::from_slice(raw).unwrap();
        s.json(raw, &mut value);
        assert_eq!(value, json!({"id": 1}));
    }

    #[test]
    fn short_credentials_are_not_searched() {
        let s = Scrubber::of_secrets(["abc"]);
        assert!(s.matcher.is_none());
        assert_eq!(s.text("abc"), "abc");
    }

    #[test]
    fn streams_are_scrubbed_across_chunk_boundaries() {
        let s = scrubber();
        let body = format!("a,b\n1,{TOKEN}\n2,x\n").into_bytes();
        for size in 1..body.len() {
            let mut stream = s.stream();
            let mut out = Vec::new();
            let chunks: Vec<&[u8]> = body.chunks(size).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                out.extend(stream.push(chunk, i == chunks.len() - 1));
            }
            assert_eq!(String::from_utf8(out).unwrap(), "a,b\n1,REDACTED\n2,x\n", "chunks of {size}");
        }
    }
}
