//! The `customers` dataset: records generated on demand from their id, plus a
//! small copy-on-write overlay of mutations per dataset size.
//!
//! Nothing is materialised up front, so `/n/1000000/...` costs the same as the
//! default dataset for unfiltered pages.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

pub const DEFAULT_N: u64 = 2_000;
/// Upper bound for `/n/{N}`; ids stay exact as f64 and scans stay bounded.
pub const MAX_N: u64 = 100_000_000;

/// Top-level fields in output order; also the set of filterable fields.
pub const FIELDS: [&str; 14] = [
    "id",
    "name",
    "email",
    "country",
    "amount",
    "score",
    "active",
    "address",
    "tags",
    "note",
    "created_at",
    "updated_at",
    "signup_date",
    "uuid",
];

const COUNTRIES: [&str; 8] = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "SE"];
const CITIES: [&str; 10] =
    ["Berlin", "Paris", "New York", "London", "Madrid", "Rome", "Amsterdam", "Stockholm", "Munich", "Lyon"];
const TAGS: [&str; 6] = ["vip", "new", "b2b", "newsletter", "churn-risk", "beta"];
/// 2024-01-01T00:00:00Z; record i is created i minutes later.
const EPOCH: i64 = 1_704_067_200;

pub fn is_field(name: &str) -> bool {
    FIELDS.contains(&name)
}

/// Fixed 64-bit mix (splitmix64) so every field is a pure function of (id, salt).
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn country(i: u64) -> &'static str {
    COUNTRIES[(mix(i, 1) % 8) as usize]
}
fn amount_cents(i: u64) -> u64 {
    mix(i, 2) % 1_000_000
}
fn score(i: u64) -> f64 {
    (1 + mix(i, 3) % 999) as f64 / 1000.0
}
fn active(i: u64) -> bool {
    !mix(i, 4).is_multiple_of(4)
}
fn city(i: u64) -> &'static str {
    CITIES[(mix(i, 5) % 10) as usize]
}
fn zip(i: u64) -> u64 {
    mix(i, 6) % 100_000
}
fn tags(i: u64) -> impl Iterator<Item = &'static str> {
    let start = mix(i, 8) as usize % TAGS.len();
    (0..(mix(i, 7) % 4) as usize).map(move |k| TAGS[(start + k) % TAGS.len()])
}
fn note(i: u64) -> Option<String> {
    match i {
        _ if i.is_multiple_of(7) => None,
        // A few notes need JSON escaping, so clients' decoders get exercised.
        _ if i.is_multiple_of(13) => Some(format!("Prefers \"express\" shipping\nüber-customer #{i}")),
        _ => Some(format!("Note for customer {i}")),
    }
}
fn created_at(i: u64) -> i64 {
    EPOCH + i as i64 * 60
}
fn generated_updated_at(i: u64) -> i64 {
    created_at(i) + (mix(i, 9) % 1440) as i64 * 60
}
fn signup_days(i: u64) -> i64 {
    created_at(i).div_euclid(86_400) - (mix(i, 10) % 730) as i64
}
fn uuid(i: u64) -> String {
    let mut out = String::with_capacity(36);
    push_uuid(&mut out, i);
    out
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

// Hand-rolled number/date writers: `core::fmt` dominated the profile of the
// page-serving hot path (5x slower than these).

/// Appends `n` in decimal, zero-padded to at least `width` digits.
fn push_uint(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 || i == buf.len() {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    out.extend(buf[start..].iter().map(|&b| char::from(b)));
}

/// Appends the low `digits` hex digits of `n`.
fn push_hex(out: &mut String, n: u64, digits: u32) {
    for k in (0..digits).rev() {
        out.push(char::from(b"0123456789abcdef"[((n >> (4 * k)) & 0xf) as usize]));
    }
}

fn push_date(out: &mut String, days: i64) {
    let (y, m, d) = civil(days);
    push_uint(out, y as u64, 4);
    out.push('-');
    push_uint(out, m.into(), 2);
    out.push('-');
    push_uint(out, d.into(), 2);
}

/// Unix seconds as ISO 8601 UTC, e.g. `2024-01-01T00:00:00Z`.
fn push_ts(out: &mut String, secs: i64) {
    let rem = secs.rem_euclid(86_400) as u64;
    push_date(out, secs.div_euclid(86_400));
    out.push('T');
    push_uint(out, rem / 3600, 2);
    out.push(':');
    push_uint(out, rem / 60 % 60, 2);
    out.push(':');
    push_uint(out, rem % 60, 2);
    out.push('Z');
}

pub fn fmt_date(days: i64) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, days);
    out
}

pub fn fmt_ts(secs: i64) -> String {
    let mut out = String::with_capacity(20);
    push_ts(&mut out, secs);
    out
}

fn push_uuid(out: &mut String, i: u64) {
    let (a, b) = (mix(i, 11), mix(i, 12));
    push_hex(out, a >> 32, 8);
    out.push('-');
    push_hex(out, a >> 16, 4);
    out.push_str("-4");
    push_hex(out, a, 3);
    out.push('-');
    push_hex(out, 8 + (b >> 62), 1);
    push_hex(out, b >> 48, 3);
    out.push('-');
    push_hex(out, b, 12);
}

/// `score` is k/1000, so its shortest decimal form is "0." + k without
/// trailing zeros (what serde_json and Display would print).
fn push_score(out: &mut String, i: u64) {
    let k = 1 + mix(i, 3) % 999;
    let mut digits = String::with_capacity(3);
    push_uint(&mut digits, k, 3);
    out.push_str("0.");
    out.push_str(digits.trim_end_matches('0'));
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A field value as seen by filters and sorting.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    /// Arrays and objects, as their JSON text.
    Json(String),
}

impl<'a> Val<'a> {
    fn from_json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => n.as_f64().map_or(Val::Null, Val::Num),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            other => Val::Json(other.to_string()),
        }
    }

    /// The string form used by equality filters (`active=true`, `id=5`).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Val::Null => Cow::Borrowed("null"),
            Val::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Val::Num(n) => Cow::Owned(n.to_string()),
            Val::Str(s) => Cow::Borrowed(s),
            Val::Json(s) => Cow::Borrowed(s),
        }
    }
}

/// One record: either generated (with an optional `updated_at` override from
/// `touch`) or a stored JSON object (created, patched or replaced).
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    Gen { id: u64, updated_at: Option<i64> },
    Obj(&'a Map<String, Value>),
}

impl<'a> Row<'a> {
    pub fn get(&self, field: &str) -> Val<'a> {
        let (i, updated) = match *self {
            Row::Obj(map) => return map.get(field).map_or(Val::Null, Val::from_json),
            Row::Gen { id, updated_at } => (id, updated_at),
        };
        let s = |v: String| Val::Str(Cow::Owned(v));
        match field {
            "id" => Val::Num(i as f64),
            "name" => s(format!("Customer {i}")),
            "email" => s(format!("customer{i}@example.com")),
            "country" => Val::Str(Cow::Borrowed(country(i))),
            "amount" => Val::Num(amount_cents(i) as f64 / 100.0),
            "score" => Val::Num(score(i)),
            "active" => Val::Bool(active(i)),
            "note" => note(i).map_or(Val::Null, s),
            "created_at" => s(fmt_ts(created_at(i))),
            "updated_at" => s(fmt_ts(updated.unwrap_or_else(|| generated_updated_at(i)))),
            "signup_date" => s(fmt_date(signup_days(i))),
            "uuid" => s(uuid(i)),
            "address" | "tags" => {
                let mut out = String::new();
                self.write_json(&mut out);
                let v: Value = serde_json::from_str(&out).expect("generated JSON");
                Val::Json(v[field].to_string())
            }
            _ => Val::Null,
        }
    }

    /// Appends the record as a JSON object. Generated rows are written
    /// directly (no `Value` tree): this is the benchmark's hot path.
    pub fn write_json(&self, out: &mut String) {
        let (i, updated) = match *self {
            Row::Obj(map) => return write_obj(map, out),
            Row::Gen { id, updated_at } => (id, updated_at),
        };
        let cents = amount_cents(i);
        out.push_str("{\"id\":");
        push_uint(out, i, 1);
        out.push_str(",\"name\":\"Customer ");
        push_uint(out, i, 1);
        out.push_str("\",\"email\":\"customer");
        push_uint(out, i, 1);
        out.push_str("@example.com\",\"country\":\"");
        out.push_str(country(i));
        out.push_str("\",\"amount\":");
        push_uint(out, cents / 100, 1);
        out.push('.');
        push_uint(out, cents % 100, 2);
        out.push_str(",\"score\":");
        push_score(out, i);
        out.push_str(if active(i) { ",\"active\":true" } else { ",\"active\":false" });
        out.push_str(",\"address\":{\"city\":\"");
        out.push_str(city(i));
        out.push_str("\",\"zip\":\"");
        push_uint(out, zip(i), 5);
        out.push_str("\"},\"tags\":[");
        for (k, tag) in tags(i).enumerate() {
            out.push_str(if k > 0 { ",\"" } else { "\"" });
            out.push_str(tag);
            out.push('"');
        }
        out.push_str("],\"note\":");
        match i {
            _ if i.is_multiple_of(7) || i.is_multiple_of(13) => match note(i) {
                Some(n) => push_json_str(out, &n),
                None => out.push_str("null"),
            },
            _ => {
                out.push_str("\"Note for customer ");
                push_uint(out, i, 1);
                out.push('"');
            }
        }
        out.push_str(",\"created_at\":\"");
        push_ts(out, created_at(i));
        out.push_str("\",\"updated_at\":\"");
        push_ts(out, updated.unwrap_or_else(|| generated_updated_at(i)));
        out.push_str("\",\"signup_date\":\"");
        push_date(out, signup_days(i));
        out.push_str("\",\"uuid\":\"");
        push_uuid(out, i);
        out.push_str("\"}");
    }

    pub fn to_map(self) -> Map<String, Value> {
        match self {
            Row::Obj(map) => map.clone(),
            Row::Gen { .. } => {
                let mut out = String::new();
                self.write_json(&mut out);
                serde_json::from_str(&out).expect("generated JSON")
            }
        }
    }
}

/// Stored objects keep the schema's field order, then any extra fields.
fn write_obj(map: &Map<String, Value>, out: &mut String) {
    out.push('{');
    let known = FIELDS.iter().filter_map(|f| map.get_key_value(*f));
    let extra = map.iter().filter(|(k, _)| !is_field(k));
    for (n, (k, v)) in known.chain(extra).enumerate() {
        if n > 0 {
            out.push(',');
        }
        push_json_str(out, k);
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
}

/// Mutations of one dataset size. Cloned on write (`Arc::make_mut`) so
/// readers keep a consistent snapshot without holding a lock.
#[derive(Debug, Clone)]
struct Overlay {
    /// Unique across all overlays and resets; part of the selection cache key.
    version: u64,
    /// Logical "now" of the last mutation, in unix seconds.
    clock: i64,
    next_id: u64,
    deleted: BTreeSet<u64>,
    /// Generated records whose only change is `updated_at` (from touch).
    touched: HashMap<u64, i64>,
    /// Patched/replaced generated records and created records (id > n).
    stored: BTreeMap<u64, Map<String, Value>>,
}

static VERSIONS: AtomicU64 = AtomicU64::new(1);

impl Overlay {
    fn new(n: u64) -> Self {
        Overlay {
            version: 0,
            // Later than every generated updated_at (at most created_at + 1 day).
            clock: EPOCH + n as i64 * 60 + 86_400,
            next_id: n + 1,
            deleted: BTreeSet::new(),
            touched: HashMap::new(),
            stored: BTreeMap::new(),
        }
    }

    /// A timestamp strictly later than every earlier updated_at.
    fn tick(&mut self) -> Value {
        self.version = VERSIONS.fetch_add(1, Ordering::Relaxed);
        self.clock += 1;
        Value::String(fmt_ts(self.clock))
    }
}

/// A read-only snapshot of one dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub n: u64,
    overlay: Option<Arc<Overlay>>,
}

impl Dataset {
    pub fn version(&self) -> u64 {
        self.overlay.as_ref().map_or(0, |o| o.version)
    }

    pub fn get(&self, id: u64) -> Option<Row<'_>> {
        let Some(o) = &self.overlay else {
            return (1..=self.n).contains(&id).then_some(Row::Gen { id, updated_at: None });
        };
        if let Some(map) = o.stored.get(&id) {
            return Some(Row::Obj(map));
        }
        if id == 0 || id > self.n || o.deleted.contains(&id) {
            return None;
        }
        Some(Row::Gen { id, updated_at: o.touched.get(&id).copied() })
    }

    fn created(&self) -> impl Iterator<Item = u64> + '_ {
        let stored = self.overlay.iter().flat_map(|o| o.stored.keys().copied());
        stored.filter(move |id| *id > self.n)
    }

    /// All live ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        let deleted = self.overlay.as_ref().map(|o| &o.deleted);
        (1..=self.n).filter(move |id| deleted.is_none_or(|d| !d.contains(id))).chain(self.created())
    }

    /// True when the k-th record (in id order) can be found without a scan.
    pub fn is_dense(&self) -> bool {
        self.overlay.as_ref().is_none_or(|o| o.deleted.is_empty())
    }

    /// Number of records; O(1) when dense.
    pub fn len(&self) -> u64 {
        match &self.overlay {
            None => self.n,
            Some(o) => {
                let created = o.stored.range(self.n + 1..).count() as u64;
                self.n - o.deleted.len() as u64 + created
            }
        }
    }

    /// Id at position `pos` (0-based, ascending id order); only valid when dense.
    pub fn id_at(&self, pos: u64) -> Option<u64> {
        if pos < self.n {
            return Some(pos + 1);
        }
        self.created().nth((pos - self.n) as usize)
    }
}

/// All datasets plus a cache of filtered/sorted id lists, so paging through a
/// filtered result does not rescan the dataset for every page.
#[derive(Default)]
pub struct Store {
    overlays: Mutex<HashMap<u64, Arc<Overlay>>>,
    selections: Mutex<HashMap<String, Arc<Vec<u64>>>>,
}

const SELECTION_CACHE_ENTRIES: usize = 64;

impl Store {
    pub fn dataset(&self, n: u64) -> Dataset {
        let overlay = self.overlays.lock().unwrap().get(&n).cloned();
        Dataset { n, overlay }
    }

    pub fn reset(&self) {
        self.overlays.lock().unwrap().clear();
        self.selections.lock().unwrap().clear();
    }

    /// Returns the cached id list for `key`, computing it on a miss. The key
    /// must include the dataset version, so stale entries are never hit.
    pub fn selection(&self, key: String, compute: impl FnOnce() -> Vec<u64>) -> Arc<Vec<u64>> {
        if let Some(ids) = self.selections.lock().unwrap().get(&key) {
            return ids.clone();
        }
        let ids = Arc::new(compute());
        let mut cache = self.selections.lock().unwrap();
        if cache.len() >= SELECTION_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, ids.clone());
        ids
    }

    fn mutate<R>(&self, n: u64, f: impl FnOnce(&Dataset, &mut Overlay) -> R) -> R {
        let mut overlays = self.overlays.lock().unwrap();
        let arc = overlays.entry(n).or_insert_with(|| Arc::new(Overlay::new(n)));
        let snapshot = Dataset { n, overlay: Some(arc.clone()) };
        let mut next = (**arc).clone();
        let out = f(&snapshot, &mut next);
        *arc = Arc::new(next);
        out
    }

    /// Creates records with fresh ids; missing schema fields become null.
    pub fn create(&self, n: u64, bodies: Vec<Map<String, Value>>) -> Vec<Value> {
        self.mutate(n, |_, o| {
            let now = o.tick();
            bodies
                .into_iter()
                .map(|mut rec| {
                    let id = o.next_id;
                    o.next_id += 1;
                    rec.insert("id".into(), id.into());
                    rec.entry("created_at").or_insert_with(|| now.clone());
                    rec.insert("updated_at".into(), now.clone());
                    fill_nulls(&mut rec);
                    o.stored.insert(id, rec.clone());
                    Value::Object(rec)
                })
                .collect()
        })
    }

    /// Merges `body` into record `id` (PATCH) or replaces it (PUT).
    pub fn update(&self, n: u64, id: u64, body: Map<String, Value>, replace: bool) -> Option<Value> {
        self.mutate(n, |ds, o| {
            let mut rec = if replace {
                ds.get(id)?;
                Map::new()
            } else {
                ds.get(id)?.to_map()
            };
            rec.extend(body);
            rec.insert("id".into(), id.into());
            rec.insert("updated_at".into(), o.tick());
            fill_nulls(&mut rec);
            o.touched.remove(&id);
            o.stored.insert(id, rec.clone());
            Some(Value::Object(rec))
        })
    }

    pub fn delete(&self, n: u64, id: u64) -> bool {
        self.mutate(n, |ds, o| {
            ds.get(id)?;
            o.tick();
            o.stored.remove(&id);
            o.touched.remove(&id);
            if id <= n {
                o.deleted.insert(id);
            }
            Some(())
        })
        .is_some()
    }

    /// Sets `updated_at` of every live record whose id is a multiple of
    /// `every` to one new timestamp; returns how many were touched.
    pub fn touch(&self, n: u64, every: u64) -> u64 {
        self.mutate(n, |ds, o| {
            let now = o.tick();
            let mut count = 0;
            let generated = (every..=n).step_by(every as usize);
            let ids: Vec<u64> = generated.chain(ds.created().filter(|id| id.is_multiple_of(every))).collect();
            for id in ids {
                if let Some(rec) = o.stored.get_mut(&id) {
                    rec.insert("updated_at".into(), now.clone());
                } else if o.deleted.contains(&id) {
                    continue;
                } else {
                    o.touched.insert(id, o.clock);
                }
                count += 1;
            }
            count
        })
    }
}

fn fill_nulls(rec: &mut Map<String, Value>) {
    for f in FIELDS {
        rec.entry(f).or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(fmt_ts(EPOCH), "2024-01-01T00:00:00Z");
        assert_eq!(fmt_ts(EPOCH + 59 * 86_400 + 3_723), "2024-02-29T01:02:03Z");
        assert_eq!(fmt_date(0), "1970-01-01");
    }

    #[test]
    fn generated_json_parses_and_matches_get() {
        for id in (1..=300).chain([1999, 2000, 999_999]) {
            let row = Row::Gen { id, updated_at: None };
            let map = row.to_map();
            assert_eq!(map.len(), FIELDS.len());
            for f in FIELDS {
                let expected = Val::from_json(&map[f]);
                assert_eq!(row.get(f), expected, "field {f} of {id}");
            }
        }
    }

    #[test]
    fn countries_are_balanced() {
        let mut counts = HashMap::new();
        for i in 1..=2000 {
            *counts.entry(country(i)).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 8);
        assert!(counts.values().all(|c| (200..300).contains(c)), "{counts:?}");
    }
}
