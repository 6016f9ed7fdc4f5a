//! The five paging styles over the same filtered/sorted selection. Pages are
//! rendered straight from positions, so a page costs O(page size).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::dataset::{Dataset, Store};
use crate::http::Response;
use crate::query::Query;
use crate::route::{Style, Total};

const MAX_LIMIT: u64 = 100;

/// What a list request needs besides its parameters.
pub struct ListCtx<'a> {
    pub ds: &'a Dataset,
    pub store: &'a Store,
    /// `http://127.0.0.1:PORT` + the request path, for `Link` headers.
    pub self_url: &'a str,
    pub raw_query: &'a str,
    /// How `page` and `offset` responses tell the total.
    pub total: Total,
}

type Params = Vec<(String, String)>;

/// Removes every occurrence of `name`; the last value wins.
fn take(params: &mut Params, name: &str) -> Option<String> {
    let mut last = None;
    params.retain(|(k, v)| {
        if k == name {
            last = Some(v.clone());
        }
        k != name
    });
    last
}

fn take_int(params: &mut Params, name: &str, default: u64, min: u64) -> Result<u64, String> {
    match take(params, name) {
        None => Ok(default),
        Some(v) => {
            v.parse::<u64>().ok().filter(|n| *n >= min).ok_or_else(|| format!("invalid value for '{name}': '{v}'"))
        }
    }
}

/// Page sizes above the maximum are clamped, as real APIs do.
fn take_limit(params: &mut Params, name: &str, default: u64) -> Result<u64, String> {
    take_int(params, name, default, 1).map(|l| l.min(MAX_LIMIT))
}

fn encode_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix("o:")?.parse().ok()
}

/// Renders `before`, the records `ids` as a JSON array, then `after`, into
/// one buffer (pages are large; avoid re-copying them).
fn render(ds: &Dataset, ids: &[u64], before: &str, after: &str) -> Vec<u8> {
    let mut out = String::with_capacity(ids.len() * 480 + before.len() + after.len() + 2);
    out.push_str(before);
    out.push('[');
    let mut first = true;
    for row in ids.iter().filter_map(|id| ds.get(*id)) {
        if !first {
            out.push(',');
        }
        first = false;
        row.write_json(&mut out);
    }
    out.push(']');
    out.push_str(after);
    out.into_bytes()
}

/// `GET /{style}/customers`.
pub fn list(style: Style, mut params: Params, cx: &ListCtx) -> Result<Response, String> {
    // Paging parameters first, so only filters and sorting remain for Query.
    let (offset, limit) = match style {
        Style::Plain => (0, u64::MAX),
        Style::Page => {
            let page = take_int(&mut params, "_page", 1, 1)?;
            let limit = take_limit(&mut params, "_limit", 10)?;
            ((page - 1).saturating_mul(limit), limit)
        }
        Style::Offset => {
            let offset = take_int(&mut params, "offset", 0, 0)?;
            (offset, take_limit(&mut params, "limit", 10)?)
        }
        Style::Cursor => {
            let limit = take_limit(&mut params, "limit", 10)?;
            let offset = match take(&mut params, "cursor") {
                None => 0,
                Some(c) => decode_cursor(&c).ok_or_else(|| format!("invalid cursor '{c}'"))?,
            };
            (offset, limit)
        }
        Style::Link => {
            let page = take_int(&mut params, "page", 1, 1)?;
            let limit = take_limit(&mut params, "per_page", 30)?;
            ((page - 1).saturating_mul(limit), limit)
        }
    };
    let query = Query::parse(&params)?;
    let selection = query.select(cx.ds, cx.store);
    let total = selection.total();
    let ids = selection.slice(cx.ds, offset, limit);
    let page = |before: &str, after: &str| render(cx.ds, &ids, before, after);
    // The total as a JSON member (with its leading comma) and as a header value.
    let (total_member, total_header) = match cx.total {
        Total::Exact => (format!(r#","total":{total}"#), Some(total.to_string())),
        Total::Missing => (String::new(), None),
        Total::Capped => (r#","total":"10000+""#.to_string(), Some("10000+".to_string())),
        Total::Negative => (r#","total":-1"#.to_string(), Some("-1".to_string())),
    };
    let resp = match style {
        Style::Plain => Response::json(200, page("", "")),
        Style::Page => {
            let tail = format!(r#","page":{},"per_page":{limit}{total_member}}}"#, offset / limit + 1);
            let resp = Response::json(200, page(r#"{"data":"#, &tail));
            match total_header {
                Some(value) => resp.with_header("X-Total-Count", value),
                None => resp,
            }
        }
        Style::Offset => Response::json(200, page(r#"{"items":"#, &format!("{total_member}}}"))),
        Style::Cursor => {
            let next = offset + ids.len() as u64;
            let has_more = !ids.is_empty() && next < total;
            let cursor = match has_more {
                true => format!("\"{}\"", encode_cursor(next)),
                false => "null".into(),
            };
            let tail = format!(r#","has_more":{has_more},"next_cursor":{cursor}}}"#);
            Response::json(200, page(r#"{"data":"#, &tail))
        }
        Style::Link => {
            let resp = Response::json(200, page("", ""));
            match link_header(cx, offset / limit + 1, limit, total) {
                Some(link) => resp.with_header("Link", link),
                None => resp,
            }
        }
    };
    Ok(resp)
}

/// RFC 8288 `Link` header, GitHub style. Other query parameters (filters,
/// sorting, api_key) are kept verbatim so following `next` continues the
/// same query.
fn link_header(cx: &ListCtx, page: u64, per_page: u64, total: u64) -> Option<String> {
    let rest: String = cx
        .raw_query
        .split('&')
        .filter(|p| {
            let name = p.split('=').next().unwrap_or("");
            !p.is_empty() && name != "page" && name != "per_page"
        })
        .map(|p| format!("&{p}"))
        .collect();
    let last = total.div_ceil(per_page).max(1);
    let url = |p: u64| format!("<{}?page={p}&per_page={per_page}{rest}>", cx.self_url);
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url((page - 1).min(last))));
        links.push(format!("{}; rel=\"first\"", url(1)));
    }
    (!links.is_empty()).then(|| links.join(", "))
}

/// `GET /{style}/customers/{id}`.
pub fn item(ds: &Dataset, id: u64) -> Option<Response> {
    let row = ds.get(id)?;
    let mut out = String::with_capacity(512);
    row.write_json(&mut out);
    Some(Response::json(200, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(1234)), Some(1234));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:1")), None);
    }
}
