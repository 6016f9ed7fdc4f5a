//! The streaming scan: a connector's page source driven on worker threads, rows delivered in order.
//!
//! Connectors say how their pages relate: *numbered* pages (page numbers, offsets) can be fetched
//! concurrently once the first page has been seen; *chained* pages (cursors, next links) are fetched one
//! after another, the next one while the backend still reads the current one. Each page is projected into
//! converted cells on the worker that fetched it, and blocks pass through a bounded channel, so memory
//! holds a few pages whatever the size of the result.

mod partitioned;

use crate::convert::{convert, Cell};
use crate::error::{Error, Result};
use crate::http::{CachePolicy, Counters, Http};
use crate::jsonpath::JsonPath;
use crate::model::{ColumnType, TableDef};
use async_trait::async_trait;
use futures::stream::{FuturesOrdered, StreamExt};
use futures::FutureExt;
use partitioned::produce_partitioned;
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Which page to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageToken {
    /// A page of a numbered source: its number (from 0) and the position of its first record. The offset is
    /// the number times the page size the provider answers with, smaller than the size asked for when the
    /// provider caps its pages: offset-style sources ask for it, page-number sources for the number.
    Number { page: u64, offset: u64 },
    /// The first page of a chained source.
    First,
    /// What the previous page of a chained source said comes next (a cursor, a URL).
    Next(String),
}

/// One page of records as the connector parsed it.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<Value>,
    /// Chained sources: the token of the following page, `None` at the end.
    pub next: Option<String>,
    /// Numbered sources: whether this page is known to be the last (short page, `has_more: false`, …).
    pub last: bool,
    /// Numbered sources: the total record count, when the provider tells.
    pub total: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// Independent pages of `page_size` records: page n holds records n*size .. (n+1)*size (the size
    /// becoming the provider's when it answers with fewer records than asked for).
    Numbered { page_size: u64 },
    /// Each page names the next.
    Chained,
}

/// A connector's scan: a function from a page token to a page.
#[async_trait]
pub trait PageSource: Send + Sync {
    fn paging(&self) -> Paging;
    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page>;
    /// A chained source whose records a range column splits into windows that can be walked concurrently.
    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        None
    }
}

/// How a chained source is split by a range column (`partition_column`): a column the provider filters by
/// range and that never changes for a record (a creation time). Values are integer keys: the integer
/// itself, days or microseconds.
pub trait Partitioner: Send + Sync {
    /// The column's name, for EXPLAIN.
    fn column(&self) -> &str;
    /// The keys to split, `[lower, upper)`: from the query's bounds, else `partition_start` and the scan's
    /// start time. Only split points depend on it; the first and last windows are open below and above.
    fn range(&self) -> (i64, i64);
    /// Split points are multiples of this (whole seconds for timestamps, as some providers take seconds).
    fn unit(&self) -> i64;
    /// A sort on the column is pushed: windows are delivered one after another, in its order. Otherwise
    /// pages are delivered as they arrive, whichever window they belong to.
    fn ordered(&self) -> bool;
    /// Windows are delivered from the highest keys down (a pushed descending sort on the column).
    fn descending(&self) -> bool;
    /// The provider's upper bound is inclusive (only `_lte` is declared): a window asks for `<= upper` and
    /// drops the records exactly on it, which the next window reads.
    fn upper_inclusive(&self) -> bool;
    /// A chained source of the records with keys in `[lower, upper)`, `None` being unbounded (there the
    /// query's own conditions on the column apply).
    fn window(&self, lower: Option<i64>, upper: Option<i64>) -> Arc<dyn PageSource>;
    /// A record's key; `None` when it has none (null, or not a value of the column's type).
    fn key(&self, record: &Value) -> Option<i64>;
    /// The order in which a window's walk returns the column's keys, when the provider documents one
    /// (`partition_order`). Then the part of a long window its walk has not reached can be split off into
    /// new windows while it runs.
    fn walk_order(&self) -> Option<WalkOrder> {
        None
    }
}

/// A window's keys, `[lower, upper)`, `None` being unbounded.
pub type Bounds = (Option<i64>, Option<i64>);

/// The order of a window walk's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkOrder {
    Ascending,
    Descending,
}

/// Split the rest of a window whose walk, going in `order`, has reached key `last`, into `parts` windows
/// on multiples of `unit`. Returns the cut, where the walk now stops (ascending: it keeps `[last, cut)`;
/// descending: `[cut, last]`, so records tied with `last` stay with it), and the new windows. `range` gives
/// the scan's bounds where the window is open. `None` when the rest is too narrow to split.
pub fn split_rest(
    order: WalkOrder,
    last: i64,
    (lower, upper): (Option<i64>, Option<i64>),
    (low, high): (i64, i64),
    unit: i64,
    parts: usize,
) -> Option<(i64, Vec<Bounds>)> {
    match order {
        WalkOrder::Ascending => {
            let points = split_points(last, upper.unwrap_or(high), unit, parts);
            let cut = *points.first()?;
            let mut bounds: Vec<Option<i64>> = points.into_iter().map(Some).collect();
            bounds.push(upper);
            Some((cut, bounds.windows(2).map(|w| (w[0], w[1])).collect()))
        }
        WalkOrder::Descending => {
            let points = split_points(lower.unwrap_or(low), last.saturating_add(1), unit, parts);
            let cut = *points.last()?;
            let mut bounds = vec![lower];
            bounds.extend(points.into_iter().map(Some));
            Some((cut, bounds.windows(2).map(|w| (w[0], w[1])).collect()))
        }
    }
}

/// The split points of `[lower, upper)` into at most `windows` windows: increasing multiples of `unit`
/// strictly inside the range. Empty when the range is too narrow to split (one sequential walk).
pub fn split_points(lower: i64, upper: i64, unit: i64, windows: usize) -> Vec<i64> {
    let unit = unit.max(1) as i128;
    let (lower, upper) = (lower as i128, upper as i128);
    let mut points: Vec<i64> = Vec::new();
    if upper <= lower {
        return points;
    }
    let n = windows.max(1) as i128;
    for k in 1..n {
        let point = (lower + (upper - lower) * k / n).div_euclid(unit) * unit;
        if point > lower && point < upper && points.last().is_none_or(|&last| (last as i128) < point) {
            points.push(point as i64);
        }
    }
    points
}

/// The windows a partitioned scan walks with `max_concurrency`, in delivery order.
pub fn windows(partitioner: &dyn Partitioner, max_concurrency: usize) -> Vec<(Option<i64>, Option<i64>)> {
    let (lower, upper) = partitioner.range();
    let points = split_points(lower, upper, partitioner.unit(), max_concurrency);
    if points.is_empty() {
        return Vec::new();
    }
    let mut windows: Vec<(Option<i64>, Option<i64>)> = Vec::with_capacity(points.len() + 1);
    let mut start = None;
    for &point in &points {
        windows.push((start, Some(point)));
        start = Some(point);
    }
    windows.push((start, None));
    if partitioner.descending() {
        windows.reverse();
    }
    windows
}

/// Turns records into the cells of the columns a query reads.
#[derive(Clone, Debug)]
pub struct Projector {
    table: String,
    columns: Vec<ProjectedColumn>,
}

#[derive(Clone, Debug)]
struct ProjectedColumn {
    name: String,
    path: JsonPath,
    ty: ColumnType,
    /// The value can be moved out of the record: no other projected column reads the same member.
    movable: bool,
}

impl Projector {
    /// `columns`: indexes into `table.columns`, in the order the cells are wanted.
    pub fn new(table: &TableDef, columns: &[usize]) -> Result<Self> {
        let mut projected = Vec::with_capacity(columns.len());
        for &i in columns {
            let column = table.columns.get(i).ok_or_else(|| Error::internal(format!("no column #{i}")))?;
            let path = match column.option("path") {
                Some(p) => JsonPath::parse(p).map_err(|e| Error::option_value("path", e))?,
                None => JsonPath::key(&column.name),
            };
            projected.push(ProjectedColumn { name: column.name.clone(), path, ty: column.ty.clone(), movable: false });
        }
        let shares_member = |i: usize, key: &str, cols: &[ProjectedColumn]| {
            cols.iter().enumerate().any(|(j, c)| j != i && (c.path.first_key().is_none_or(|k| k == key)))
        };
        for i in 0..projected.len() {
            let movable = projected[i].path.is_single_key()
                && !shares_member(i, projected[i].path.first_key().unwrap_or_default(), &projected);
            projected[i].movable = movable;
        }
        Ok(Projector { table: table.name.clone(), columns: projected })
    }

    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Project records into a block; the error names the table, column and value at fault.
    pub fn project(&self, records: Vec<Value>) -> Result<Block> {
        let rows = records.len();
        let mut cells = Vec::with_capacity(rows * self.columns.len());
        for mut record in records {
            for column in &self.columns {
                let value =
                    if column.movable { column.path.take(&mut record) } else { column.path.get(&record).cloned() };
                let cell = convert(value.unwrap_or(Value::Null), &column.ty)
                    .map_err(|e| e.into_error(&self.table, &column.name))?;
                cells.push(cell);
            }
        }
        Ok(Block { width: self.columns.len(), rows, cells })
    }
}

/// Converted rows, row-major. The row count is kept apart from the cells: a query may read no column at
/// all (`count(*)`) and still needs every row.
#[derive(Debug, Default, PartialEq)]
pub struct Block {
    pub width: usize,
    rows: usize,
    pub cells: Vec<Cell>,
}

impl Block {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn row(&self, index: usize) -> &[Cell] {
        &self.cells[index * self.width..(index + 1) * self.width]
    }

    /// `rows` rows without columns: what a count reads.
    pub fn rows_only(rows: usize) -> Block {
        Block { width: 0, rows, cells: Vec::new() }
    }
}

/// Scan settings the framework derives from the server and the plan.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanSettings {
    /// Pages in flight at once for numbered sources.
    pub max_concurrency: usize,
    /// Stop after this many rows (a pushed LIMIT, offset included).
    pub rows_needed: Option<u64>,
    /// How the scan uses the response cache.
    pub cache: CachePolicy,
}

/// What `Scan::next_block` found.
#[derive(Debug)]
pub enum Next {
    Block(Block),
    /// Nothing arrived within the wait; the caller checks for interrupts and asks again.
    Waiting,
    Done,
}

/// A running scan. Dropping it stops every request it has in flight.
/// What the producer sends: blocks, then `None` once the source is exhausted. A channel that closes without
/// that end marker means the producer died, which must not pass for a complete result.
type Message = Result<Option<Block>>;

pub struct Scan {
    receiver: mpsc::Receiver<Message>,
    task: JoinHandle<()>,
    runtime: Handle,
    pub counters: Arc<Counters>,
    /// A count ([`Scan::start_count`]) took the provider's total rather than reading every page.
    pub used_total: Arc<AtomicBool>,
    /// Warnings for the backend to raise (a provider that ignores a partition's range).
    warnings: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scan {
    /// Start fetching on `runtime`. Delivery is in page order; at most a few pages wait in memory.
    pub fn start(
        runtime: &Handle,
        http: Arc<Http>,
        source: Arc<dyn PageSource>,
        projector: Arc<Projector>,
        settings: ScanSettings,
    ) -> Scan {
        let counters = Arc::new(Counters { cache: settings.cache, ..Counters::default() });
        let (sender, receiver) = mpsc::channel(2);
        let warnings = Arc::new(std::sync::Mutex::new(Vec::new()));
        let task =
            runtime.spawn(produce(http, source, projector, settings, counters.clone(), sender, warnings.clone()));
        Scan { receiver, task, runtime: runtime.clone(), counters, used_total: Arc::default(), warnings }
    }

    /// Count the rows of a scan. `probe` is the scan asked for its smallest first page: when that answer
    /// tells a believable total, the count is the total, in one request. Otherwise
    /// every page of `all` is read and its rows counted. The blocks have no columns; their rows add up to
    /// the count.
    pub fn start_count(
        runtime: &Handle,
        http: Arc<Http>,
        probe: Arc<dyn PageSource>,
        all: Arc<dyn PageSource>,
        settings: ScanSettings,
    ) -> Scan {
        let counters = Arc::new(Counters { cache: settings.cache, ..Counters::default() });
        let used_total = Arc::new(AtomicBool::new(false));
        let (sender, receiver) = mpsc::channel(2);
        let (counting, flag) = (counters.clone(), used_total.clone());
        let warnings = Arc::new(std::sync::Mutex::new(Vec::new()));
        let warned = warnings.clone();
        let task = runtime.spawn(async move {
            let token = match probe.paging() {
                Paging::Numbered { .. } => PageToken::Number { page: 0, offset: 0 },
                Paging::Chained => PageToken::First,
            };
            let first = AssertUnwindSafe(probe.fetch(&http, token, &counting)).catch_unwind().await;
            match first {
                Ok(Ok(page)) => {
                    counting.pages.fetch_add(1, Ordering::Relaxed);
                    http.counters.pages.fetch_add(1, Ordering::Relaxed);
                    // A total below the records of its own answer, or beyond a bigint, is not believed.
                    let believable = |&t: &u64| t >= page.records.len() as u64 && t <= i64::MAX as u64;
                    if let Some(total) = page.total.filter(believable) {
                        flag.store(true, Ordering::Relaxed);
                        if sender.send(Ok(Some(Block::rows_only(total as usize)))).await.is_ok() {
                            let _ = sender.send(Ok(None)).await;
                        }
                        return;
                    }
                }
                Ok(Err(e)) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
                Err(_) => {
                    let _ =
                        sender.send(Err(Error::internal("connector_fdw bug: a count's first request panicked"))).await;
                    return;
                }
            }
            let projector = Arc::new(Projector { table: String::new(), columns: Vec::new() });
            produce(http, all, projector, settings, counting, sender, warned).await
        });
        Scan { receiver, task, runtime: runtime.clone(), counters, used_total, warnings }
    }

    /// Warnings raised since the last call.
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }

    /// Wait up to `wait` for the next block. Never blocks longer, so the caller can honour cancels.
    pub fn next_block(&mut self, wait: Duration) -> Result<Next> {
        let receiver = &mut self.receiver;
        let received = self.runtime.block_on(async { tokio::time::timeout(wait, receiver.recv()).await });
        match received {
            Err(_elapsed) => Ok(Next::Waiting),
            Ok(Some(Ok(Some(block)))) => Ok(Next::Block(block)),
            Ok(Some(Ok(None))) => Ok(Next::Done),
            Ok(Some(Err(e))) => Err(e),
            Ok(None) => Err(Error::internal("the scan's worker stopped before the end of the data")),
        }
    }
}

async fn produce(
    http: Arc<Http>,
    source: Arc<dyn PageSource>,
    projector: Arc<Projector>,
    settings: ScanSettings,
    counters: Arc<Counters>,
    sender: mpsc::Sender<Message>,
    warnings: Arc<std::sync::Mutex<Vec<String>>>,
) {
    let run = async {
        match source.paging() {
            Paging::Chained => match source.partitioner() {
                Some(partitioner) => {
                    let scan = Walk { http: &http, projector: &projector, settings: &settings, counters: &counters };
                    produce_partitioned(scan, &source, partitioner, &sender, &warnings).await
                }
                None => produce_chained(&http, &source, &projector, &settings, &counters, &sender).await,
            },
            Paging::Numbered { page_size } => {
                produce_numbered(&http, &source, &projector, &settings, &counters, &sender, page_size.max(1)).await
            }
        }
    };
    let outcome = match AssertUnwindSafe(run).catch_unwind().await {
        Ok(Ok(())) => Ok(None),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panicked(panic)),
    };
    // The receiver may be gone (the scan ended early); nothing left to tell then.
    let _ = sender.send(outcome).await;
}

/// The error of a scan task that panicked.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let why = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
    Error::internal(format!("connector_fdw bug: a scan worker panicked: {}", why.unwrap_or_default()))
}

/// The error of a task that did not finish.
fn joined(e: tokio::task::JoinError) -> Error {
    match e.try_into_panic() {
        Ok(panic) => panicked(panic),
        Err(e) => Error::internal(format!("page task failed: {e}")),
    }
}

/// Fetch and project one page on a worker; returns the block and the page's paging facts.
async fn fetch_block(
    http: Arc<Http>,
    source: Arc<dyn PageSource>,
    projector: Arc<Projector>,
    counters: Arc<Counters>,
    token: PageToken,
) -> Result<Fetched> {
    let page = source.fetch(&http, token, &counters).await?;
    counters.pages.fetch_add(1, Ordering::Relaxed);
    http.counters.pages.fetch_add(1, Ordering::Relaxed);
    let fetched = page.records.len();
    let block = projector.project(page.records)?;
    Ok((block, page.next, page.last, page.total, fetched))
}

type Fetched = (Block, Option<String>, bool, Option<u64>, usize);

/// A spawned page fetch that is aborted when dropped: when a scan ends early (LIMIT reached, error,
/// cancel), no request of it keeps running.
struct AbortOnDrop(JoinHandle<Result<Fetched>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::future::Future for AbortOnDrop {
    type Output = Result<Fetched>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| joined.unwrap_or_else(|e| Err(Error::internal(format!("page task failed: {e}")))))
    }
}

async fn produce_chained(
    http: &Arc<Http>,
    source: &Arc<dyn PageSource>,
    projector: &Arc<Projector>,
    settings: &ScanSettings,
    counters: &Arc<Counters>,
    sender: &mpsc::Sender<Message>,
) -> Result<()> {
    // The next request leaves as soon as a page is parsed: its records are converted on another worker
    // while it is in flight. At most a few pages wait converted (or converting) for delivery.
    let (pages, mut converting) = mpsc::channel::<Result<JoinHandle<Result<Block>>>>(2);
    let walk = {
        let (http, source, projector, counters) = (http.clone(), source.clone(), projector.clone(), counters.clone());
        let rows_needed = settings.rows_needed;
        tokio::spawn(async move {
            let mut token = PageToken::First;
            let mut rows: u64 = 0;
            loop {
                let page = match source.fetch(&http, token, &counters).await {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = pages.send(Err(e)).await;
                        return;
                    }
                };
                counters.pages.fetch_add(1, Ordering::Relaxed);
                http.counters.pages.fetch_add(1, Ordering::Relaxed);
                rows += page.records.len() as u64;
                let (projector, records) = (projector.clone(), page.records);
                if pages.send(Ok(tokio::spawn(async move { projector.project(records) }))).await.is_err() {
                    return;
                }
                match page.next {
                    Some(next) if rows_needed.is_none_or(|n| rows < n) => token = PageToken::Next(next),
                    _ => return,
                }
            }
        })
    };
    let mut walk = Walks(vec![walk]);
    while let Some(page) = converting.recv().await {
        let block = page?.await.map_err(joined)??;
        if sender.send(Ok(Some(block))).await.is_err() {
            return Ok(());
        }
    }
    // The walk closes the queue after the last page, and also when it panics, which is not the end of the data.
    match walk.0.pop() {
        Some(handle) => handle.await.map_err(joined),
        None => Ok(()),
    }
}

/// What a partitioned scan shares with its windows.
#[derive(Clone, Copy)]
struct Walk<'a> {
    http: &'a Arc<Http>,
    projector: &'a Arc<Projector>,
    settings: &'a ScanSettings,
    counters: &'a Arc<Counters>,
}

/// The window walks of a scan, aborted when dropped.
struct Walks(Vec<JoinHandle<()>>);

impl Drop for Walks {
    fn drop(&mut self) {
        for walk in &self.0 {
            walk.abort();
        }
    }
}

async fn produce_numbered(
    http: &Arc<Http>,
    source: &Arc<dyn PageSource>,
    projector: &Arc<Projector>,
    settings: &ScanSettings,
    counters: &Arc<Counters>,
    sender: &mpsc::Sender<Message>,
    page_size: u64,
) -> Result<()> {
    let spawn = |page: u64, size: u64| {
        AbortOnDrop(tokio::spawn(fetch_block(
            http.clone(),
            source.clone(),
            projector.clone(),
            counters.clone(),
            PageToken::Number { page, offset: page * size },
        )))
    };
    // The first page tells whether there is more and, often, how much.
    let (block, _, last, total, fetched) = spawn(0, page_size).await?;
    let fetched = fetched as u64;
    let satisfied = settings.rows_needed.is_some_and(|n| fetched >= n);
    if sender.send(Ok(Some(block))).await.is_err() || last || fetched == 0 || satisfied {
        return Ok(());
    }
    let mut page_size = page_size;
    let mut next_page: u64 = 1;
    // A first page shorter than asked for is the end, or a provider that caps its pages below the size
    // asked for; taking it for the end would silently drop the rest. The total tells which; without one,
    // the second page does (empty: the end). From then on the provider's size is the page size, so page n
    // starts at record n × that size.
    if fetched < page_size {
        if total.is_some_and(|total| total <= fetched) {
            return Ok(());
        }
        page_size = fetched;
        if total.is_none() {
            let (block, _, last, _, second) = spawn(1, page_size).await?;
            let second = second as u64;
            if second == 0 {
                return Ok(());
            }
            if sender.send(Ok(Some(block))).await.is_err() || last || second < page_size {
                return Ok(());
            }
            next_page = 2;
        }
    }
    let mut pages_wanted: Option<u64> = settings.rows_needed.map(|n| n.div_ceil(page_size));
    if let Some(total) = total {
        let pages = total.div_ceil(page_size);
        pages_wanted = Some(pages_wanted.map_or(pages, |w| w.min(pages)));
    }
    if pages_wanted.is_some_and(|w| w <= next_page) {
        return Ok(());
    }
    // Without a known end, widen the window gradually so a short result does not cost a burst of empty
    // pages; with a known end, use the full window at once.
    let max_window = settings.max_concurrency.max(1) as u64;
    let mut window = if pages_wanted.is_some() { max_window } else { 2.min(max_window) };
    let mut in_flight = FuturesOrdered::new();
    loop {
        while (in_flight.len() as u64) < window && pages_wanted.is_none_or(|w| next_page < w) {
            in_flight.push_back(spawn(next_page, page_size));
            next_page += 1;
        }
        let Some(result) = in_flight.next().await else { return Ok(()) };
        let (block, _, last, _, fetched) = result?;
        let empty = fetched == 0;
        if !empty && sender.send(Ok(Some(block))).await.is_err() {
            return Ok(());
        }
        if last || empty || (fetched as u64) < page_size {
            // Requests for pages past the end are aborted as `in_flight` drops.
            return Ok(());
        }
        window = (window * 2).min(max_window);
    }
}

#[cfg(test)]
mod tests;
