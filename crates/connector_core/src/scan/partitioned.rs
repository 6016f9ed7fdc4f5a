//! Partitioned scans: windows of the partition column walked concurrently, delivered in order, and split
//! while they run.

use super::{
    produce_chained, split_rest, windows, Block, Bounds, Message, PageSource, PageToken, Partitioner, Projector, Walk,
    WalkOrder, Walks,
};
use crate::error::{Error, Result};
use crate::http::{Counters, Http};
use futures::stream::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What a window's walk hands the scan.
enum WindowMessage {
    Block(Block),
    /// The window is exhausted.
    End,
    /// The provider returned a record outside the window (or without a value in the column): it ignores
    /// the range parameters.
    Outside,
    /// The answer to a request to split: the windows split off the rest of this one (none when it could
    /// not be split).
    Split(Vec<Bounds>),
}

/// One window of a partitioned scan.
struct Window {
    /// Set by the scan to ask the walk to split its rest into this many windows; read between pages.
    split: Arc<AtomicUsize>,
    receiver: mpsc::Receiver<Result<WindowMessage>>,
}

impl Window {
    /// Start walking the window `bounds`.
    fn start(
        walk: Walk<'_>,
        partitioner: &Arc<dyn Partitioner>,
        bounds: (Option<i64>, Option<i64>),
        walks: &mut Walks,
    ) -> Window {
        let (sender, receiver) = mpsc::channel(2);
        let split = Arc::new(AtomicUsize::new(0));
        walks.0.push(tokio::spawn(walk_window(
            walk.http.clone(),
            partitioner.clone(),
            walk.projector.clone(),
            walk.counters.clone(),
            (bounds, split.clone()),
            walk.settings.rows_needed,
            sender,
        )));
        Window { split, receiver }
    }
}

/// Walk one window's cursor chain, checking every record against the window and projecting pages on the
/// worker. Stops once the window alone has the rows a pushed LIMIT needs. Asked to split (and walking in a
/// declared order that the records so far kept), it hands the part it has not reached to new windows and
/// stops at the cut.
async fn walk_window(
    http: Arc<Http>,
    partitioner: Arc<dyn Partitioner>,
    projector: Arc<Projector>,
    counters: Arc<Counters>,
    ((lower, upper), split): ((Option<i64>, Option<i64>), Arc<AtomicUsize>),
    rows_needed: Option<u64>,
    sender: mpsc::Sender<Result<WindowMessage>>,
) {
    let source = partitioner.window(lower, upper);
    let inclusive = partitioner.upper_inclusive();
    let order = partitioner.walk_order();
    let mut token = PageToken::First;
    let mut rows: u64 = 0;
    // The last key read, whether the keys kept the declared order so far, and where a split stops the walk.
    let (mut last, mut in_order, mut cut): (Option<i64>, bool, Option<i64>) = (None, order.is_some(), None);
    loop {
        let page = match source.fetch(&http, token, &counters).await {
            Ok(page) => page,
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        };
        counters.pages.fetch_add(1, Ordering::Relaxed);
        http.counters.pages.fetch_add(1, Ordering::Relaxed);
        let (mut outside, mut past_cut) = (false, false);
        let mut records = page.records;
        records.retain(|record| match partitioner.key(record) {
            Some(key) if lower.is_none_or(|l| key >= l) && upper.is_none_or(|u| key < u) => {
                in_order &= match (order, last) {
                    (Some(WalkOrder::Ascending), Some(last)) => key >= last,
                    (Some(WalkOrder::Descending), Some(last)) => key <= last,
                    _ => true,
                };
                last = Some(key);
                // Split off: a new window reads it.
                let split_off = match (order, cut) {
                    (Some(WalkOrder::Ascending), Some(cut)) => key >= cut,
                    (Some(WalkOrder::Descending), Some(cut)) => key < cut,
                    _ => false,
                };
                past_cut |= split_off;
                !split_off
            }
            // Asked for with `<=`: the next window reads it.
            Some(key) if inclusive && upper == Some(key) => false,
            _ => {
                outside = true;
                false
            }
        });
        let message = match outside {
            true => Ok(WindowMessage::Outside),
            false => projector.project(records).map(WindowMessage::Block),
        };
        let stop = !matches!(message, Ok(WindowMessage::Block(_)));
        if let Ok(WindowMessage::Block(block)) = &message {
            rows += block.rows() as u64;
        }
        if sender.send(message).await.is_err() || stop {
            return;
        }
        let Some(next) = page.next.filter(|_| !past_cut && rows_needed.is_none_or(|n| rows < n)) else {
            break;
        };
        token = PageToken::Next(next);
        let parts = split.swap(0, Ordering::Relaxed);
        if parts > 0 {
            let rest = match (order, last) {
                // Split again, the rest is what lies before the cut.
                (Some(order), Some(last)) if in_order => split_rest(
                    order,
                    last,
                    match order {
                        WalkOrder::Ascending => (lower, cut.or(upper)),
                        WalkOrder::Descending => (cut.or(lower), upper),
                    },
                    partitioner.range(),
                    partitioner.unit(),
                    parts,
                ),
                _ => None,
            };
            let windows = match rest {
                Some((at, windows)) => {
                    cut = Some(at);
                    windows
                }
                None => Vec::new(),
            };
            if sender.send(Ok(WindowMessage::Split(windows))).await.is_err() {
                return;
            }
        }
    }
    let _ = sender.send(Ok(WindowMessage::End)).await;
}

/// Walk the windows of a range-partitioned source concurrently and deliver them in order (the column's
/// order when a sort on it is pushed). Each window holds at most a few pages ahead of delivery. Nothing is
/// delivered before every window's first page is checked: a provider that ignores the range parameters
/// returns records outside some window there, and the scan then falls back to one sequential walk with a
/// warning, before any row could be duplicated.
pub(super) async fn produce_partitioned(
    walk: Walk<'_>,
    source: &Arc<dyn PageSource>,
    partitioner: Arc<dyn Partitioner>,
    sender: &mpsc::Sender<Message>,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Result<()> {
    let Walk { http, projector, settings, counters } = walk;
    let windows = windows(partitioner.as_ref(), settings.max_concurrency);
    if windows.is_empty() {
        return produce_chained(http, source, projector, settings, counters, sender).await;
    }
    let mut walks = Walks(Vec::with_capacity(windows.len()));
    let mut started: Vec<Window> =
        windows.iter().map(|&bounds| Window::start(walk, &partitioner, bounds, &mut walks)).collect();
    let closed = || Error::internal("a partition window's worker stopped before the end of its data");
    let mut firsts = Vec::with_capacity(started.len());
    for window in &mut started {
        match window.receiver.recv().await.ok_or_else(closed)?? {
            WindowMessage::Outside => {
                drop(walks);
                let warning = format!(
                    "the provider ignored the range of partition column \"{}\" (it returned a record outside the window asked for); the scan reads it in one sequential walk",
                    partitioner.column(),
                );
                if let Ok(mut w) = warnings.lock() {
                    w.push(warning);
                }
                return produce_chained(http, source, projector, settings, counters, sender).await;
            }
            first => firsts.push(first),
        }
    }
    counters.windows.store(windows.len() as u64, Ordering::Relaxed);
    let outside = || {
        Error::new(
            crate::ErrorKind::Remote,
            format!(
                "the provider returned a record outside its window of partition column \"{}\" after rows were delivered",
                partitioner.column()
            ),
        )
        .with_hint("The provider does not apply the column's range parameters: remove the table's partition_column.")
    };
    let mut rows: u64 = 0;
    // Deliver a block; `false` once the scan needs no more.
    let mut deliver = async |block: Block| {
        rows += block.rows() as u64;
        sender.send(Ok(Some(block))).await.is_ok() && settings.rows_needed.is_none_or(|n| rows < n)
    };
    if !partitioner.ordered() {
        // No order to keep: every window streams at its own pace, each holding at most a few pages. When a
        // window ends, the busiest one still walking is asked to split its rest over the idle slots.
        let mut state: Vec<WindowState> = Vec::new();
        let mut merged = futures::stream::SelectAll::new();
        let follow = |index: usize, receiver: mpsc::Receiver<Result<WindowMessage>>| {
            futures::stream::unfold(receiver, move |mut r| async move { r.recv().await.map(|m| ((index, m), r)) })
                .boxed()
        };
        for (index, window) in started.into_iter().enumerate() {
            state.push(WindowState { split: window.split, pages: 0, ended: false, asked: false, declined: false });
            merged.push(follow(index, window.receiver));
        }
        let mut firsts = firsts.into_iter().enumerate();
        let mut asking = false;
        loop {
            let (index, message) = match firsts.next() {
                Some(first) => first,
                None => match merged.next().await {
                    Some((index, message)) => (index, message?),
                    None => break,
                },
            };
            let window = &mut state[index];
            match message {
                WindowMessage::Block(block) => {
                    window.pages += 1;
                    if !deliver(block).await {
                        return Ok(());
                    }
                }
                WindowMessage::End => {
                    window.ended = true;
                    asking &= !std::mem::take(&mut window.asked);
                }
                WindowMessage::Split(rest) => {
                    window.asked = false;
                    window.declined = rest.is_empty();
                    asking = false;
                    counters.windows.fetch_add(rest.len() as u64, Ordering::Relaxed);
                    for bounds in rest {
                        let new = Window::start(walk, &partitioner, bounds, &mut walks);
                        merged.push(follow(state.len(), new.receiver));
                        let fresh =
                            WindowState { split: new.split, pages: 0, ended: false, asked: false, declined: false };
                        state.push(fresh);
                    }
                }
                WindowMessage::Outside => return Err(outside()),
            }
            let walking = state.iter().filter(|w| !w.ended).count();
            let idle = settings.max_concurrency.saturating_sub(walking);
            if asking || idle == 0 {
                continue;
            }
            let busiest = state.iter_mut().filter(|w| !w.ended && !w.declined && w.pages > 0).max_by_key(|w| w.pages);
            if let Some(window) = busiest {
                window.asked = true;
                window.split.store(idle + 1, Ordering::Relaxed);
                asking = true;
            }
        }
        // A window's queue closes after its end marker, or when its walk died.
        return if state.iter().all(|w| w.ended) { Ok(()) } else { Err(closed()) };
    }
    for (window, first) in started.iter_mut().zip(firsts) {
        let mut message = first;
        loop {
            match message {
                WindowMessage::Block(block) => {
                    if !deliver(block).await {
                        return Ok(());
                    }
                }
                WindowMessage::End => break,
                // Rows were delivered already: falling back now would duplicate them.
                WindowMessage::Outside => return Err(outside()),
                WindowMessage::Split(_) => return Err(Error::internal("an ordered partition window split unasked")),
            }
            message = window.receiver.recv().await.ok_or_else(closed)??;
        }
    }
    Ok(())
}

/// What the scan knows of a window it walks unordered.
struct WindowState {
    split: Arc<AtomicUsize>,
    pages: u64,
    ended: bool,
    /// Asked to split and not answered yet.
    asked: bool,
    /// Could not split: not asked again.
    declined: bool,
}
