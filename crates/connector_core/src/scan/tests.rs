use super::*;
use crate::http::{Auth, HttpSettings};
use crate::model::ColumnDef;
use serde_json::json;
use std::sync::Mutex;

fn table() -> TableDef {
    TableDef {
        name: "t".into(),
        options: Default::default(),
        columns: vec![
            ColumnDef::new("id", ColumnType::Int4),
            ColumnDef::new("city", ColumnType::Text).with_option("path", "$.address.city"),
            ColumnDef::new("raw", ColumnType::Jsonb).with_option("path", "$"),
        ],
    }
}

#[test]
fn projection_moves_only_unshared_members() {
    let p = Projector::new(&table(), &[0, 1]).unwrap();
    let block = p.project(vec![json!({"id": 1, "address": {"city": "Oslo"}}), json!({"id": "2"})]).unwrap();
    assert_eq!(block.rows(), 2);
    assert_eq!(block.cells, vec![Cell::Int(1), Cell::Text("Oslo".into()), Cell::Int(2), Cell::Null]);
    // A query that reads no column still gets every row.
    let none = Projector::new(&table(), &[]).unwrap().project(vec![json!({}), json!({})]).unwrap();
    assert_eq!((none.rows(), none.cells.len()), (2, 0));
    // With the whole record projected too, nothing may be moved out of it.
    let p = Projector::new(&table(), &[0, 2]).unwrap();
    let block = p.project(vec![json!({"id": 1})]).unwrap();
    assert_eq!(block.cells, vec![Cell::Int(1), Cell::Jsonb(json!({"id": 1}))]);
}

#[test]
fn projection_errors_name_table_and_column() {
    let p = Projector::new(&table(), &[0]).unwrap();
    let e = p.project(vec![json!({"id": "x"})]).unwrap_err();
    assert_eq!(e.message, "column \"id\" of foreign table \"t\": \"x\" is not a valid integer");
}

/// A numbered source of `total` records that records which pages were asked for and how many
/// were in flight at once. `cap` makes it answer fewer records per page than asked for, as providers
/// with a maximum page size do; `by_offset` makes it read the token's offset, as offset-style APIs do,
/// instead of its page number.
#[derive(Default)]
struct Numbered {
    total: u64,
    size: u64,
    cap: Option<u64>,
    tell_total: bool,
    /// A total told instead of the true one.
    false_total: Option<u64>,
    by_offset: bool,
    asked: Mutex<Vec<u64>>,
    delay: Duration,
    in_flight: std::sync::atomic::AtomicUsize,
    max_in_flight: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl PageSource for Numbered {
    fn paging(&self) -> Paging {
        Paging::Numbered { page_size: self.size }
    }
    async fn fetch(&self, _: &Http, token: PageToken, _: &Counters) -> Result<Page> {
        let PageToken::Number { page: n, offset } = token else { panic!("numbered source got {token:?}") };
        self.asked.lock().unwrap().push(n);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let size = self.cap.unwrap_or(self.size);
        let start = if self.by_offset { offset } else { n * size };
        let records = (start..(start + size).min(self.total)).map(|i| json!({"id": i})).collect();
        let total = self.false_total.or(self.tell_total.then_some(self.total));
        Ok(Page { records, total, ..Page::default() })
    }
}

struct Chained {
    pages: u64,
}

#[async_trait]
impl PageSource for Chained {
    fn paging(&self) -> Paging {
        Paging::Chained
    }
    async fn fetch(&self, _: &Http, token: PageToken, _: &Counters) -> Result<Page> {
        let n: u64 = match token {
            PageToken::First => 0,
            PageToken::Next(s) => s.parse().unwrap(),
            PageToken::Number { .. } => panic!("chained source got a page number"),
        };
        let next = (n + 1 < self.pages).then(|| (n + 1).to_string());
        Ok(Page { records: vec![json!({"id": n})], next, ..Page::default() })
    }
}

fn collect(source: Arc<dyn PageSource>, settings: ScanSettings) -> Result<Vec<i64>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = Arc::new(Http::new(HttpSettings::default(), Auth::None, vec![]).unwrap());
    let projector = Arc::new(Projector::new(&table(), &[0]).unwrap());
    let mut scan = Scan::start(runtime.handle(), http, source, projector, settings);
    let mut ids = Vec::new();
    loop {
        match scan.next_block(Duration::from_millis(50))? {
            Next::Block(b) => ids.extend(b.cells.iter().map(|c| match c {
                Cell::Int(i) => *i,
                other => panic!("{other:?}"),
            })),
            Next::Waiting => continue,
            Next::Done => return Ok(ids),
        }
    }
}

fn settings(max_concurrency: usize, rows_needed: Option<u64>) -> ScanSettings {
    ScanSettings { max_concurrency, rows_needed, ..Default::default() }
}

#[test]
fn numbered_pages_arrive_in_order_and_complete() {
    for tell_total in [true, false] {
        let source = Arc::new(Numbered { total: 95, size: 10, tell_total, ..Default::default() });
        let ids = collect(source.clone(), settings(4, None)).unwrap();
        assert_eq!(ids, (0..95).collect::<Vec<_>>(), "tell_total={tell_total}");
        let asked = source.asked.lock().unwrap().clone();
        assert!(asked.len() <= 10 + 4, "{asked:?}");
        if tell_total {
            assert_eq!(asked.len(), 10, "a known total fetches no page past the end");
        }
    }
}

#[test]
fn a_provider_capping_its_pages_loses_no_rows() {
    for (tell_total, by_offset) in [(true, false), (false, false), (true, true), (false, true)] {
        let source =
            Arc::new(Numbered { total: 95, size: 100, cap: Some(10), tell_total, by_offset, ..Default::default() });
        let ids = collect(source.clone(), settings(4, None)).unwrap();
        assert_eq!(ids, (0..95).collect::<Vec<_>>(), "tell_total={tell_total} by_offset={by_offset}");
    }
    // A genuinely short result: with a total, one request; without, a second one finds the end.
    let source = Arc::new(Numbered { total: 7, size: 100, tell_total: true, ..Default::default() });
    assert_eq!(collect(source.clone(), settings(4, None)).unwrap().len(), 7);
    assert_eq!(source.asked.lock().unwrap().clone(), vec![0]);
    let source = Arc::new(Numbered { total: 7, size: 100, by_offset: true, ..Default::default() });
    assert_eq!(collect(source.clone(), settings(4, None)).unwrap(), (0..7).collect::<Vec<_>>());
    assert_eq!(source.asked.lock().unwrap().clone(), vec![0, 1]);
}

#[test]
fn a_limit_fetches_only_the_pages_it_needs() {
    let source = Arc::new(Numbered { total: 1000, size: 10, ..Default::default() });
    let ids = collect(source.clone(), settings(8, Some(5))).unwrap();
    assert_eq!(ids.len(), 10, "the first page is delivered whole; the executor stops at the limit");
    assert_eq!(source.asked.lock().unwrap().clone(), vec![0]);
    let source = Arc::new(Numbered { total: 1000, size: 10, ..Default::default() });
    collect(source.clone(), settings(8, Some(25))).unwrap();
    let mut asked = source.asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, vec![0, 1, 2]);
}

#[test]
fn numbered_pages_are_fetched_concurrently() {
    let source = Arc::new(Numbered {
        total: 400,
        size: 10,
        tell_total: true,
        delay: Duration::from_millis(20),
        ..Default::default()
    });
    assert_eq!(collect(source.clone(), settings(8, None)).unwrap().len(), 400);
    assert_eq!(source.max_in_flight.load(Ordering::SeqCst), 8);
    let source = Arc::new(Numbered {
        total: 400,
        size: 10,
        tell_total: true,
        delay: Duration::from_millis(20),
        ..Default::default()
    });
    collect(source.clone(), settings(1, None)).unwrap();
    assert_eq!(source.max_in_flight.load(Ordering::SeqCst), 1);
}

/// The count of a count scan, whether it came from the total, and the pages the probe and the full
/// scan were asked for.
fn count(probe: Numbered, all: Numbered) -> (usize, bool, Vec<u64>, Vec<u64>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = Arc::new(Http::new(HttpSettings::default(), Auth::None, vec![]).unwrap());
    let (probe, all) = (Arc::new(probe), Arc::new(all));
    let mut scan = Scan::start_count(runtime.handle(), http, probe.clone(), all.clone(), settings(4, None));
    let mut rows = 0;
    loop {
        match scan.next_block(Duration::from_millis(50)).unwrap() {
            Next::Block(b) => {
                assert_eq!(b.width, 0);
                rows += b.rows();
            }
            Next::Waiting => continue,
            Next::Done => break,
        }
    }
    let asked = |n: &Numbered| {
        let mut pages = n.asked.lock().unwrap().clone();
        pages.sort();
        pages
    };
    (rows, scan.used_total.load(Ordering::Relaxed), asked(&probe), asked(&all))
}

#[test]
fn a_count_takes_the_total_of_one_small_page_or_counts_every_row() {
    let source =
        |size, tell_total, false_total| Numbered { total: 95, size, tell_total, false_total, ..Default::default() };
    assert_eq!(count(source(1, true, None), source(10, true, None)), (95, true, vec![0], vec![]));
    // No total: every page is read.
    let (rows, used_total, probed, all) = count(source(1, false, None), source(10, false, None));
    assert_eq!((rows, used_total, probed), (95, false, vec![0]));
    assert_eq!(all[..10], (0..10).collect::<Vec<_>>(), "every page, in a window that may ask past the end");
    // A total below the records of its own answer is not believed.
    let (rows, used_total, _, _) =
        count(Numbered { total: 95, size: 10, false_total: Some(3), ..Default::default() }, source(10, true, None));
    assert_eq!((rows, used_total), (95, false));
    // An empty result.
    let empty = |size| Numbered { total: 0, size, tell_total: true, ..Default::default() };
    assert_eq!(count(empty(1), empty(10)), (0, true, vec![0], vec![]));
}

/// A provider of records `{id, key}` that filters a key range, for partitioned scans: `ignore` makes
/// it ignore the range (every window gets every record), `inclusive` makes the upper bound `<=`.
#[derive(Clone)]
struct Ranged {
    records: Vec<(i64, i64)>,
    page: usize,
    range: (i64, i64),
    ignore: bool,
    inclusive: bool,
    ordered: bool,
    descending: bool,
    /// The walk order declared to the scan (windows return keys ascending, or descending with
    /// `descending`, unless `scrambled`).
    walk: Option<WalkOrder>,
    scrambled: bool,
    /// Every window fetched, by its bounds.
    asked: Arc<std::sync::Mutex<Vec<Bounds>>>,
}

impl Ranged {
    fn new(keys: impl IntoIterator<Item = i64>, range: (i64, i64)) -> Ranged {
        let records = keys.into_iter().enumerate().map(|(i, k)| (i as i64, k)).collect();
        Ranged {
            records,
            page: 7,
            range,
            ignore: false,
            inclusive: false,
            ordered: false,
            descending: false,
            walk: None,
            scrambled: false,
            asked: Arc::default(),
        }
    }
}

struct RangedWindow {
    records: Vec<(i64, i64)>,
    page: usize,
}

#[async_trait]
impl PageSource for RangedWindow {
    fn paging(&self) -> Paging {
        Paging::Chained
    }
    async fn fetch(&self, _: &Http, token: PageToken, _: &Counters) -> Result<Page> {
        let start: usize = match token {
            PageToken::First => 0,
            PageToken::Next(s) => s.parse().unwrap(),
            PageToken::Number { .. } => panic!("chained source got a page number"),
        };
        let end = (start + self.page).min(self.records.len());
        let records = self.records[start..end].iter().map(|(id, key)| json!({"id": id, "key": key})).collect();
        Ok(Page { records, next: (end < self.records.len()).then(|| end.to_string()), ..Page::default() })
    }
}

impl Partitioner for Ranged {
    fn column(&self) -> &str {
        "key"
    }
    fn range(&self) -> (i64, i64) {
        self.range
    }
    fn unit(&self) -> i64 {
        1
    }
    fn ordered(&self) -> bool {
        self.ordered
    }
    fn descending(&self) -> bool {
        self.descending
    }
    fn upper_inclusive(&self) -> bool {
        self.inclusive
    }
    fn window(&self, lower: Option<i64>, upper: Option<i64>) -> Arc<dyn PageSource> {
        let mut records: Vec<(i64, i64)> = self
            .records
            .iter()
            .copied()
            .filter(|&(_, k)| {
                self.ignore
                    || (lower.is_none_or(|l| k >= l)
                        && upper.is_none_or(|u| if self.inclusive { k <= u } else { k < u }))
            })
            .collect();
        records.sort_by_key(|&(id, k)| if self.descending { (-k, id) } else { (k, id) });
        if self.scrambled {
            // Out of order from the second page on.
            let tail = records.len().min(self.page);
            records[tail..].reverse();
        }
        self.asked.lock().unwrap().push((lower, upper));
        Arc::new(RangedWindow { records, page: self.page })
    }
    fn key(&self, record: &Value) -> Option<i64> {
        record.get("key")?.as_i64()
    }
    fn walk_order(&self) -> Option<WalkOrder> {
        self.walk
    }
}

#[async_trait]
impl PageSource for Ranged {
    fn paging(&self) -> Paging {
        Paging::Chained
    }
    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        self.window(None, None).fetch(http, token, counters).await
    }
    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        Some(Arc::new(self.clone()))
    }
}

fn collect_scan(source: Arc<dyn PageSource>, settings: ScanSettings) -> (Vec<i64>, Vec<String>, u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = Arc::new(Http::new(HttpSettings::default(), Auth::None, vec![]).unwrap());
    let projector = Arc::new(Projector::new(&table(), &[0]).unwrap());
    let mut scan = Scan::start(runtime.handle(), http, source, projector, settings);
    let mut ids = Vec::new();
    loop {
        match scan.next_block(Duration::from_millis(50)).unwrap() {
            Next::Block(b) => ids.extend(b.cells.iter().map(|c| match c {
                Cell::Int(i) => *i,
                other => panic!("{other:?}"),
            })),
            Next::Waiting => continue,
            Next::Done => return (ids, scan.take_warnings(), scan.counters.snapshot().windows),
        }
    }
}

#[test]
fn split_points_are_inside_the_range_and_on_the_unit() {
    assert_eq!(split_points(0, 100, 1, 4), vec![25, 50, 75]);
    assert_eq!(split_points(0, 3, 1, 8), vec![1, 2], "no empty duplicate windows");
    assert_eq!(split_points(5, 5, 1, 8), Vec::<i64>::new());
    assert_eq!(split_points(9, 3, 1, 8), Vec::<i64>::new());
    assert_eq!(split_points(0, 100, 1, 1), Vec::<i64>::new());
    assert_eq!(split_points(1_500_000, 9_500_000, 1_000_000, 4), vec![3_000_000, 5_000_000, 7_000_000]);
    assert_eq!(split_points(-10, 10, 1, 2), vec![0]);
    assert_eq!(split_points(i64::MIN, i64::MAX, 1, 2).len(), 1, "no overflow");
}

/// Every record exactly once, whatever the windows: records on split points, outside the split range,
/// empty windows, one very dense window, an inclusive upper bound, a descending order.
#[test]
fn partitioned_scans_lose_and_duplicate_nothing_at_window_edges() {
    let mut keys: Vec<i64> = (0..100).map(|k| k * 10).collect(); // on every split point of (0, 1000)
    keys.extend(std::iter::repeat_n(437, 300)); // one very dense window
    keys.extend([-50, -1, 1000, 1001, 5000]); // below and above the split range
    for inclusive in [false, true] {
        for (ordered, descending) in [(false, false), (false, true), (true, false), (true, true)] {
            for max_concurrency in [1, 2, 3, 8, 64] {
                for range in [(0, 1000), (430, 440), (2000, 3000)] {
                    let mut source = Ranged::new(keys.clone(), range);
                    source.inclusive = inclusive;
                    source.ordered = ordered;
                    source.descending = descending;
                    // Unordered, windows walk in the column's order and may be split while they run.
                    source.walk = match (ordered, descending) {
                        (true, _) => None,
                        (false, false) => Some(WalkOrder::Ascending),
                        (false, true) => Some(WalkOrder::Descending),
                    };
                    let (ids, warnings, windows) =
                        collect_scan(Arc::new(source.clone()), settings(max_concurrency, None));
                    let case = format!("inclusive={inclusive} ordered={ordered} descending={descending} max_concurrency={max_concurrency} range={range:?}");
                    let mut sorted = ids.clone();
                    sorted.sort();
                    assert_eq!(sorted, (0..keys.len() as i64).collect::<Vec<_>>(), "{case}");
                    assert!(warnings.is_empty(), "{case}: {warnings:?}");
                    let expected = windows_for(&source, max_concurrency) as u64;
                    match ordered {
                        true => assert_eq!(windows, expected, "{case}"),
                        false => assert!(windows >= expected, "{case}: {windows} windows"),
                    }
                    if max_concurrency == 1 {
                        assert_eq!(windows, 0, "max_concurrency 1 is one sequential walk");
                    }
                    // With an order, delivered in the column's order, windows in order.
                    if !ordered {
                        continue;
                    }
                    let delivered: Vec<i64> = ids.iter().map(|&id| keys[id as usize]).collect();
                    let mut ordered = delivered.clone();
                    ordered.sort_by_key(|&k| if descending { -k } else { k });
                    assert_eq!(delivered, ordered, "{case}");
                }
            }
        }
    }
}

#[test]
fn the_rest_of_a_window_is_split_on_the_unit_and_keeps_ties_on_one_side() {
    use WalkOrder::*;
    // Ascending at 10 in [0, 100): the walk keeps [10, 40), new windows [40, 70) and [70, 100).
    assert_eq!(
        split_rest(Ascending, 10, (Some(0), Some(100)), (0, 1000), 1, 3),
        Some((40, vec![(Some(40), Some(70)), (Some(70), Some(100))]))
    );
    // The last window is open above and stays so; split points come from the scan's upper bound.
    assert_eq!(split_rest(Ascending, 500, (Some(0), None), (0, 1000), 100, 2), Some((700, vec![(Some(700), None)])));
    // Descending at 90 in [0, 100): the walk keeps [60, 90] with the records tied at 90.
    assert_eq!(
        split_rest(Descending, 90, (Some(0), Some(100)), (0, 1000), 1, 3),
        Some((60, vec![(Some(0), Some(30)), (Some(30), Some(60))]))
    );
    // The first window is open below and stays so.
    assert_eq!(split_rest(Descending, 90, (None, Some(100)), (0, 1000), 1, 2), Some((45, vec![(None, Some(45))])));
    // Nothing left to split: at the window's end, or no multiple of the unit in between.
    assert_eq!(split_rest(Ascending, 99, (Some(0), Some(100)), (0, 1000), 1, 4), None);
    assert_eq!(split_rest(Descending, 0, (Some(0), Some(100)), (0, 1000), 1, 4), None);
    assert_eq!(split_rest(Ascending, 1, (Some(0), Some(100)), (0, 1000), 1000, 4), None);
}

/// One dense window and empty others: the idle slots take over the rest of the dense one.
#[test]
fn a_long_window_is_split_while_it_runs() {
    let keys: Vec<i64> = (0..2000).map(|k| k % 250).collect();
    for order in [WalkOrder::Ascending, WalkOrder::Descending] {
        let mut source = Ranged::new(keys.clone(), (0, 1000));
        source.walk = Some(order);
        source.descending = order == WalkOrder::Descending;
        let (mut ids, warnings, windows) = collect_scan(Arc::new(source.clone()), settings(4, None));
        ids.sort();
        assert_eq!(ids, (0..2000).collect::<Vec<_>>(), "{order:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(windows > 4, "{order:?}: {windows} windows");
        let asked = source.asked.lock().unwrap().clone();
        assert_eq!(asked.len() as u64, windows, "{order:?}: {asked:?}");
    }
}

#[test]
fn a_window_out_of_its_declared_order_is_not_split() {
    let keys: Vec<i64> = (0..2000).map(|k| k % 250).collect();
    let mut source = Ranged::new(keys, (0, 1000));
    source.walk = Some(WalkOrder::Ascending);
    source.scrambled = true;
    let (mut ids, _, windows) = collect_scan(Arc::new(source.clone()), settings(4, None));
    ids.sort();
    assert_eq!(ids, (0..2000).collect::<Vec<_>>());
    assert_eq!(windows, 4);
}

fn windows_for(source: &Ranged, max_concurrency: usize) -> usize {
    windows(source, max_concurrency).len()
}

#[test]
fn a_provider_ignoring_the_range_falls_back_to_one_walk() {
    let mut source = Ranged::new((0..100).map(|k| k * 10), (0, 1000));
    source.ignore = true;
    let (mut ids, warnings, windows) = collect_scan(Arc::new(source.clone()), settings(8, None));
    ids.sort();
    assert_eq!(ids, (0..100).collect::<Vec<_>>());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("ignored the range of partition column \"key\""), "{}", warnings[0]);
    assert_eq!(windows, 0);
}

#[test]
fn a_limit_stops_a_partitioned_scan_early() {
    let mut source = Ranged::new(0..1000, (0, 1000));
    let (ids, _, windows) = collect_scan(Arc::new(source.clone()), settings(4, Some(10)));
    assert_eq!(windows, 4);
    assert!(ids.len() >= 10 && ids.len() < 10 + 7, "one page past the limit at most: {}", ids.len());
    source.ordered = true;
    let (ids, _, _) = collect_scan(Arc::new(source.clone()), settings(4, Some(10)));
    assert_eq!(ids[..10], (0..10).collect::<Vec<_>>(), "ordered: from the first window");
}

struct Panicking;

#[async_trait]
impl PageSource for Panicking {
    fn paging(&self) -> Paging {
        Paging::Chained
    }
    async fn fetch(&self, _: &Http, _: PageToken, _: &Counters) -> Result<Page> {
        panic!("boom")
    }
}

#[test]
fn a_panicking_source_is_an_error_not_an_empty_result() {
    let e = collect(Arc::new(Panicking), settings(1, None)).unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::Internal);
    assert!(e.message.contains("panicked: boom"), "{}", e.message);
}

#[test]
fn chained_pages_follow_their_tokens() {
    assert_eq!(collect(Arc::new(Chained { pages: 5 }), settings(4, None)).unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(collect(Arc::new(Chained { pages: 5 }), settings(4, Some(2))).unwrap(), vec![0, 1]);
}
