//! Path parsing: knob prefixes (`/n/…`, `/delay/…`, `/auth/…`, `/fault/…`, `/total/…`) in
//! any order, then `/{style}/customers[/{id}]`. Knobs live in the path so a
//! foreign table's `path` option alone selects the behaviour.

use crate::dataset::{DEFAULT_N, MAX_N};
use crate::faults::Fault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Page,
    Offset,
    Cursor,
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Bearer,
    Basic,
    Header,
    Query,
    /// A bearer token from the OAuth token endpoint (`/oauth/token`).
    OAuthToken,
}

/// How `page` and `offset` responses tell the total (`/total/{kind}`), for clients that must not trust a
/// total that is not a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// The filtered count, as a number (the default).
    Exact,
    /// No `total` member and no `X-Total-Count` header.
    Missing,
    /// `"10000+"`, as providers that cap their counts write it.
    Capped,
    /// `-1`.
    Negative,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub n: u64,
    pub delay_ms: u64,
    pub auth: Option<Auth>,
    pub fault: Option<Fault>,
    pub style: Style,
    pub total: Total,
    /// The raw `{id}` segment of an item route.
    pub id: Option<String>,
    /// `/norange`: range filters (`f_gt`, `f_gte`, `f_lt`, `f_lte`) are accepted and ignored, as by a
    /// provider that does not know them.
    pub ignore_ranges: bool,
}

/// `None` means 404.
pub fn parse(path: &str) -> Option<Route> {
    let mut segs = path.trim_end_matches('/').split('/').skip(1);
    let mut route = Route {
        n: DEFAULT_N,
        delay_ms: 0,
        auth: None,
        fault: None,
        style: Style::Plain,
        total: Total::Exact,
        id: None,
        ignore_ranges: false,
    };
    loop {
        match segs.next()? {
            "n" => route.n = segs.next()?.parse().ok().filter(|n| *n <= MAX_N)?,
            "delay" => route.delay_ms = segs.next()?.parse().ok()?,
            "norange" => route.ignore_ranges = true,
            "auth" => {
                route.auth = Some(match segs.next()? {
                    "bearer" => Auth::Bearer,
                    "basic" => Auth::Basic,
                    "header" => Auth::Header,
                    "query" => Auth::Query,
                    "oauth" => Auth::OAuthToken,
                    _ => return None,
                })
            }
            "fault" => route.fault = Some(Fault::parse(segs.next()?, segs.next()?)?),
            "total" => {
                route.total = match segs.next()? {
                    "missing" => Total::Missing,
                    "capped" => Total::Capped,
                    "negative" => Total::Negative,
                    _ => return None,
                }
            }
            style => {
                route.style = match style {
                    "plain" => Style::Plain,
                    "page" => Style::Page,
                    "offset" => Style::Offset,
                    "cursor" => Style::Cursor,
                    "link" => Style::Link,
                    _ => return None,
                };
                break;
            }
        }
    }
    if segs.next()? != "customers" {
        return None;
    }
    route.id = segs.next().map(str::to_string);
    segs.next().is_none().then_some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_knobs_in_any_order() {
        let r = parse("/fault/429/2/n/100/auth/bearer/delay/5/page/customers/7").unwrap();
        assert_eq!((r.n, r.delay_ms, r.auth), (100, 5, Some(Auth::Bearer)));
        assert_eq!(r.style, Style::Page);
        assert_eq!(r.id.as_deref(), Some("7"));
        assert!(r.fault.is_some());
        assert!(!r.ignore_ranges);
        assert!(parse("/norange/n/10/cursor/customers").unwrap().ignore_ranges);
        assert_eq!(parse("/auth/oauth/page/customers").unwrap().auth, Some(Auth::OAuthToken));
        assert_eq!(parse("/cursor/customers/").unwrap().id, None);
        assert!(parse("/x").is_none());
        assert!(parse("/page/orders").is_none());
        assert!(parse("/n/abc/page/customers").is_none());
        assert!(parse("/page/customers/1/extra").is_none());
        assert_eq!(parse("/total/capped/page/customers").unwrap().total, Total::Capped);
        assert!(parse("/total/huge/page/customers").is_none());
    }
}
