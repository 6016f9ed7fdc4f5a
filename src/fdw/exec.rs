//! Execution: evaluate the plan's values, start the connector's scan on the runtime, and turn converted
//! blocks into tuples. The backend waits for pages in short slices and checks for interrupts between them,
//! so query cancel and statement_timeout end a scan promptly however slow the provider is.

use super::catalog::{self, Foreign};
use super::clients;
use super::datum::{datum_to_value, OutColumn};
use super::pg::{cstr, list_ptrs, raise, OrRaise};
use super::plan::{scan_plan, Planned, PlannedLimit, ScanPlan};
use connector_core::http::{CounterSnapshot, Http};
use connector_core::model::{non_finite_condition, Limit, LimitSplit, Op, Qual, ScanRequest, Value};
use connector_core::scan::{Block, Next, Projector, Scan, ScanSettings};
use connector_core::Error;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

/// How long the backend waits for a page before checking for interrupts again.
const WAIT_SLICE: Duration = Duration::from_millis(100);

struct ScanState {
    plan: ScanPlan,
    foreign: Foreign,
    /// None in EXPLAIN without ANALYZE: nothing is sent then.
    http: Option<Arc<Http>>,
    exprs: Vec<*mut pg_sys::ExprState>,
    columns: Vec<OutColumn>,
    /// The request of the current scan, with values evaluated.
    request: Option<ScanRequest>,
    /// With a sort read in two phases: the requests of the phases started so far.
    phases: Vec<ScanRequest>,
    /// Scans started (more than one when rescanned, e.g. once per outer row of a parameterized join).
    scans: u64,
    split: Option<LimitSplit>,
    scan: Option<Scan>,
    block: Block,
    row: usize,
    skipped: u64,
    emitted: u64,
    done: bool,
    /// Counters of finished scans of this node (rescans), for EXPLAIN ANALYZE.
    finished: CounterSnapshot,
    /// Requests of the current scan already counted for this backend (sync progress and run counts).
    reported_requests: u64,
    /// A count scan's last count came from the provider's total (else from reading every page).
    counted_by_total: Option<bool>,
}

impl ScanState {
    fn counters(&self) -> CounterSnapshot {
        let mut total = self.finished;
        if let Some(scan) = &self.scan {
            let now = scan.counters.snapshot();
            total.requests += now.requests;
            total.pages += now.pages;
            total.bytes += now.bytes;
            total.retries += now.retries;
            total.throttled_us += now.throttled_us;
            total.errors += now.errors;
            total.cache_hits += now.cache_hits;
            total.cache_bytes += now.cache_bytes;
            total.windows += now.windows;
        }
        total
    }

    /// Requests the current scan made since they were last counted for the backend.
    fn new_requests(&mut self) -> u64 {
        let now = self.scan.as_ref().map_or(0, |s| s.counters.snapshot().requests);
        let new = now.saturating_sub(self.reported_requests);
        self.reported_requests = now;
        new
    }

    /// Stop the running scan (aborting its requests) and keep its counters.
    fn stop(&mut self) {
        super::progress::add_requests(self.new_requests());
        self.reported_requests = 0;
        self.finished = self.counters();
        self.scan = None;
        self.block = Block::default();
        self.row = 0;
    }
}

unsafe fn state<'a>(node: *mut pg_sys::ForeignScanState) -> &'a mut ScanState {
    &mut *((*node).fdw_state as *mut ScanState)
}

/// The role whose user mapping a scan uses: the view owner's for views, else the current user.
unsafe fn scan_user(node: *mut pg_sys::ForeignScanState) -> pg_sys::Oid {
    match super::compat::scan_check_as_user(node) {
        pg_sys::InvalidOid => pg_sys::GetUserId(),
        user => user,
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_scan(node: *mut pg_sys::ForeignScanState, eflags: std::ffi::c_int) {
    let fscan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let plan = scan_plan((*fscan).fdw_private);
    let foreign = catalog::load(pg_sys::Oid::from(plan.relid));
    let explain_only = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0;
    let http = (!explain_only).then(|| {
        let user = scan_user(node);
        let (mapping, options) = super::credentials::user_mapping(foreign.server_oid, user);
        clients::http_client(foreign.server_oid, user, mapping, &foreign.server, &options)
    });
    let exprs = if explain_only {
        Vec::new()
    } else {
        list_ptrs::<pg_sys::ExprState>(pg_sys::ExecInitExprList((*fscan).fdw_exprs, node as *mut pg_sys::PlanState))
    };
    let columns = plan
        .columns
        .iter()
        .zip(&plan.slots)
        .map(|(&column, &slot)| {
            let attr = &foreign.attrs[column];
            OutColumn::new(slot, foreign.table.columns[column].name.clone(), attr.type_oid, attr.typmod)
        })
        .collect();
    let state = ScanState {
        plan,
        foreign,
        http,
        exprs,
        columns,
        request: None,
        phases: Vec::new(),
        scans: 0,
        split: None,
        scan: None,
        block: Block::default(),
        row: 0,
        skipped: 0,
        emitted: 0,
        done: false,
        finished: CounterSnapshot::default(),
        reported_requests: 0,
        counted_by_total: None,
    };
    // Freed with the query's memory, also when the query fails; dropping it stops any scan in flight.
    let query_memory = (*(*node).ss.ps.state).es_query_cxt;
    (*node).fdw_state = PgMemoryContexts::For(query_memory).leak_and_drop_on_delete(state) as *mut _;
}

/// Evaluate a planned value; lists come from array-valued expressions.
unsafe fn evaluate(state: &ScanState, node: *mut pg_sys::ForeignScanState, planned: &Planned) -> Value {
    match planned {
        Planned::Const(v) => v.clone(),
        Planned::Expr(index) => {
            let expr_state = state.exprs[*index];
            let econtext = (*node).ss.ps.ps_ExprContext;
            let mut is_null = false;
            let datum = pg_sys::ExecEvalExprSwitchContext(expr_state, econtext, &mut is_null);
            let type_oid = pg_sys::exprType((*expr_state).expr as _);
            datum_to_value(datum, is_null, type_oid)
        }
    }
}

fn as_count(value: Value, what: &str, sqlstate: PgSqlErrorCode) -> Option<u64> {
    match value {
        Value::Null => None,
        Value::Int(n) if n >= 0 => Some(n as u64),
        Value::Int(_) => {
            pg_sys::panic::ErrorReport::new(sqlstate, format!("{what} must not be negative"), "connector_fdw")
                .report(PgLogLevel::ERROR);
            unreachable!()
        }
        other => raise(Error::internal(format!("{what} evaluated to {other:?}"))),
    }
}

/// The request with every value evaluated, or `None` when a condition can match nothing (`= NULL`,
/// `> 'infinity'`).
unsafe fn evaluate_request(
    state: &ScanState,
    node: *mut pg_sys::ForeignScanState,
) -> Option<(ScanRequest, Option<Limit>)> {
    let mut quals = Vec::new();
    for planned in &state.plan.quals {
        let value = evaluate(state, node, &planned.value);
        let value = match (planned.op, value) {
            (Op::IsNull | Op::IsNotNull, v) => v,
            (_, Value::Null) => return None,
            // NaN and infinities are never sent (`non_finite_condition`): no item equals one.
            (Op::In, Value::List(items)) => {
                let items: Vec<Value> = items.into_iter().filter(|v| v.non_finite().is_none()).collect();
                if items.is_empty() {
                    return None;
                }
                Value::List(items)
            }
            (op, v) => match non_finite_condition(op, &v) {
                Some(false) => return None,
                // Holds for every value but NULL. Planning keeps such constants local; a parameter found
                // to be one only now is left out of the request.
                Some(true) => continue,
                None => v,
            },
        };
        quals.push(Qual { column: planned.column.clone(), op: planned.op, value });
    }
    let limit = state.plan.limit.as_ref().map(|PlannedLimit { count, offset }| {
        let count = count.as_ref().and_then(|c| {
            as_count(evaluate(state, node, c), "LIMIT", PgSqlErrorCode::ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE)
        });
        let offset = offset.as_ref().and_then(|o| {
            as_count(
                evaluate(state, node, o),
                "OFFSET",
                PgSqlErrorCode::ERRCODE_INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE,
            )
        });
        Limit { count, offset: offset.unwrap_or(0) }
    });
    let request = ScanRequest { columns: state.plan.columns.clone(), quals, sorts: state.plan.sorts.clone(), limit };
    Some((request, limit))
}

unsafe fn start(state: &mut ScanState, node: *mut pg_sys::ForeignScanState) {
    state.scans += 1;
    let Some((request, limit)) = evaluate_request(state, node) else {
        state.done = true;
        return;
    };
    // Phases of a split sort each read from their start: the scan skips the offset itself.
    let provider_skips = state.plan.null_split.is_none() && state.foreign.handle.capabilities().supports_offset();
    let split = limit.map(|l| l.split(provider_skips));
    state.request = Some(request);
    state.split = split;
    if split.is_some_and(|s| s.emit == Some(0)) {
        state.done = true;
        return;
    }
    start_phase(state);
}

/// Start the scan of the request, or of the next phase of a split sort with the rows still needed. `false`
/// when a split sort has no phase left.
unsafe fn start_phase(state: &mut ScanState) -> bool {
    let request = state.request.clone().expect("a request is evaluated before its scan starts");
    let mut rows_needed = state.split.and_then(|s| s.source_rows);
    let request = match &state.plan.null_split {
        None => request,
        Some(_) if state.phases.len() >= 2 => return false,
        Some(null_split) => {
            // The rows the earlier phase delivered all went through the skip and the emit counts.
            rows_needed = rows_needed.map(|n| n.saturating_sub(state.skipped + state.emitted));
            let phase = null_split.phase(&request, state.phases.len(), rows_needed);
            state.phases.push(phase.clone());
            phase
        }
    };
    let http = state.http.clone().expect("scans run with a client");
    let source = state.foreign.handle.scan(&request).or_raise();
    let projector = Arc::new(Projector::new(&state.foreign.table, &request.columns).or_raise());
    let settings = ScanSettings {
        max_concurrency: http.settings().max_concurrency,
        rows_needed,
        cache: super::cache::policy(&state.foreign.table.options),
    };
    state.scan = Some(Scan::start(clients::runtime().handle(), http, source, projector, settings));
    true
}

unsafe fn clear_slot(slot: *mut pg_sys::TupleTableSlot) {
    if let Some(clear) = (*(*slot).tts_ops).clear {
        clear(slot);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    let state = state(node);
    let slot = (*node).ss.ss_ScanTupleSlot;
    clear_slot(slot);
    if state.plan.count {
        return iterate_count(state, node, slot);
    }
    if state.scan.is_none() && !state.done && state.request.is_none() {
        start(state, node);
    }
    loop {
        if state.done {
            return slot;
        }
        if state.row < state.block.rows() {
            let row = state.row;
            state.row += 1;
            let split = state.split.unwrap_or(LimitSplit { source_rows: None, skip: 0, emit: None });
            if state.skipped < split.skip {
                state.skipped += 1;
                continue;
            }
            if split.emit.is_some_and(|n| state.emitted >= n) {
                state.stop();
                state.done = true;
                return slot;
            }
            fill_slot(state, slot, row);
            state.emitted += 1;
            super::progress::add_rows(1);
            return slot;
        }
        let Some(scan) = state.scan.as_mut() else {
            state.done = true;
            return slot;
        };
        let next = scan.next_block(WAIT_SLICE);
        for warning in scan.take_warnings() {
            pgrx::warning!("{warning}");
        }
        match next {
            Ok(Next::Block(block)) => {
                state.block = block;
                state.row = 0;
                super::progress::add_page(state.new_requests());
            }
            Ok(Next::Waiting) => {
                pg_sys::check_for_interrupts!();
            }
            Ok(Next::Done) => {
                state.stop();
                let satisfied = state.split.and_then(|s| s.emit).is_some_and(|n| state.emitted >= n);
                state.done = satisfied || state.plan.null_split.is_none() || !start_phase(state);
            }
            Err(e) => {
                state.stop();
                raise(e)
            }
        }
    }
}

/// A count scan returns one row: the count.
unsafe fn iterate_count(
    state: &mut ScanState,
    node: *mut pg_sys::ForeignScanState,
    slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    if state.done {
        return slot;
    }
    let count = match evaluate_request(state, node) {
        Some((request, _)) => count_rows(state, request),
        // A condition no row meets: nothing to ask.
        None => 0,
    };
    state.done = true;
    (*slot).tts_values.write(pg_sys::Datum::from(i64::try_from(count).unwrap_or(i64::MAX)));
    (*slot).tts_isnull.write(false);
    pg_sys::ExecStoreVirtualTuple(slot);
    super::progress::add_rows(1);
    slot
}

/// The rows `request` matches: the total of one smallest page when the provider tells it, else the rows of
/// every page.
unsafe fn count_rows(state: &mut ScanState, request: ScanRequest) -> u64 {
    // A pushed LIMIT 1 makes the first page as small as the provider allows.
    let probe = ScanRequest { limit: Some(Limit { count: Some(1), offset: 0 }), ..request.clone() };
    let http = state.http.clone().expect("scans run with a client");
    let probe_source = state.foreign.handle.scan(&probe).or_raise();
    let all = state.foreign.handle.scan(&request).or_raise();
    let settings = ScanSettings {
        max_concurrency: http.settings().max_concurrency,
        rows_needed: None,
        cache: super::cache::policy(&state.foreign.table.options),
    };
    state.scan = Some(Scan::start_count(clients::runtime().handle(), http, probe_source, all, settings));
    state.request = Some(probe);
    let mut rows: u64 = 0;
    let used_total = loop {
        let scan = state.scan.as_mut().expect("the count's scan runs");
        match scan.next_block(WAIT_SLICE) {
            Ok(Next::Block(block)) => {
                rows += block.rows() as u64;
                super::progress::add_page(state.new_requests());
            }
            Ok(Next::Waiting) => {
                pg_sys::check_for_interrupts!();
            }
            Ok(Next::Done) => break scan.used_total.load(std::sync::atomic::Ordering::Relaxed),
            Err(e) => {
                state.stop();
                raise(e)
            }
        }
    };
    state.stop();
    state.counted_by_total = Some(used_total);
    if !used_total {
        debug1!(
            "connector_fdw: foreign table \"{}\": the provider's answer had no usable total, so count(*) read every page",
            state.foreign.table.name
        );
    }
    rows
}

unsafe fn fill_slot(state: &mut ScanState, slot: *mut pg_sys::TupleTableSlot, row: usize) {
    super::datum::store_cells(&mut state.columns, state.block.row(row), slot, &state.foreign.table.name);
}

#[pg_guard]
pub unsafe extern "C-unwind" fn rescan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    let state = state(node);
    state.stop();
    state.request = None;
    state.phases.clear();
    state.split = None;
    state.skipped = 0;
    state.emitted = 0;
    state.done = false;
}

#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    if !(*node).fdw_state.is_null() {
        state(node).stop();
    }
}

unsafe fn explain_text(es: *mut pg_sys::ExplainState, label: &str, value: &str) {
    let label = CString::new(label).expect("label");
    let value = CString::new(value.replace('\0', "")).expect("NULs removed");
    pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
}

unsafe fn explain_int(es: *mut pg_sys::ExplainState, label: &str, unit: Option<&str>, value: u64) {
    let label = CString::new(label).expect("label");
    let unit = unit.map(|u| CString::new(u).expect("unit"));
    pg_sys::ExplainPropertyInteger(
        label.as_ptr(),
        unit.as_ref().map_or(std::ptr::null(), |u| u.as_ptr()),
        value as i64,
        es,
    );
}

/// The SQL of each value evaluated at scan start (`$1`, `now() - '1 day'::interval`), deparsed in
/// EXPLAIN's context for this node so parameters of outer plans print as Postgres prints them.
unsafe fn expression_texts(node: *mut pg_sys::ForeignScanState, es: *mut pg_sys::ExplainState) -> Vec<String> {
    let plan = (*node).ss.ps.plan;
    let context = pg_sys::set_deparse_context_plan((*es).deparse_cxt, plan, std::ptr::null_mut());
    list_ptrs::<pg_sys::Node>((*(plan as *mut pg_sys::ForeignScan)).fdw_exprs)
        .into_iter()
        .map(|expr| cstr(pg_sys::deparse_expression(expr, context, false, false)))
        .collect()
}

/// A planned value as SQL text.
fn value_sql(planned: &Planned, texts: &[String]) -> String {
    match planned {
        Planned::Const(v) => v.to_sql(),
        Planned::Expr(index) => texts.get(*index).cloned().unwrap_or_else(|| "?".into()),
    }
}

/// The request EXPLAIN shows before execution: values not known yet appear as their SQL.
fn plan_time_request(plan: &ScanPlan, texts: &[String]) -> ScanRequest {
    let known = |p: &Planned| match p {
        Planned::Const(v) => v.clone(),
        Planned::Expr(_) => Value::Text(value_sql(p, texts)),
    };
    let count = |p: &Option<Planned>| match p {
        Some(Planned::Const(Value::Int(n))) => Some(*n as u64),
        _ => None,
    };
    // A count's first request is its smallest page.
    let limit = match &plan.limit {
        _ if plan.count => Some(Limit { count: Some(1), offset: 0 }),
        Some(l) => Some(Limit { count: count(&l.count), offset: count(&l.offset).unwrap_or(0) }),
        None => None,
    };
    ScanRequest {
        columns: plan.columns.clone(),
        quals: plan.quals.iter().map(|q| Qual { column: q.column.clone(), op: q.op, value: known(&q.value) }).collect(),
        sorts: plan.sorts.clone(),
        limit,
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    let state = state(node);
    explain_text(es, "Connector", state.foreign.connector.name());
    if state.plan.upper {
        explain_text(es, "Relations", &state.foreign.table.name);
    }
    let texts = expression_texts(node, es);
    // One scan shows its request as sent; rescans with other parameter values show the planned form.
    let request = match &state.request {
        Some(request) if state.scans == 1 => request.clone(),
        _ => plan_time_request(&state.plan, &texts),
    };
    // A split sort's phases: those sent, else both as planned.
    let requests = match &state.plan.null_split {
        Some(_) if !state.phases.is_empty() && state.scans == 1 => state.phases.clone(),
        Some(null_split) => {
            let rows = request.limit.and_then(|l| l.rows_needed());
            vec![null_split.phase(&request, 0, rows), null_split.phase(&request, 1, rows)]
        }
        None => vec![request.clone()],
    };
    for line in requests.iter().flat_map(|r| state.foreign.handle.describe(r)) {
        // Decoded for reading: `_sort=amount,id` rather than `_sort=amount%2Cid`.
        let readable = percent_encoding::percent_decode_str(&line).decode_utf8_lossy().into_owned();
        explain_text(es, "Remote request", &readable);
    }
    // Range windows: how many the scan splits into with the server's max_concurrency.
    let partitioned = state.foreign.handle.partitioner(&request).is_some_and(|partitioner| {
        let max_concurrency = match &state.http {
            Some(http) => http.settings().max_concurrency,
            None => connector_core::connectors::http_settings(&state.foreign.server, state.foreign.connector.as_ref())
                .map_or(1, |s| s.max_concurrency),
        };
        let windows = connector_core::scan::windows(partitioner.as_ref(), max_concurrency).len();
        if windows > 0 {
            explain_text(es, "Partitions", &format!("{windows} windows on {}", partitioner.column()));
        }
        windows > 0
    });
    if (*es).verbose {
        let pushed: Vec<String> = state
            .plan
            .quals
            .iter()
            .map(|q| match &q.value {
                Planned::Const(v) => Qual { column: q.column.clone(), op: q.op, value: v.clone() }.to_string(),
                Planned::Expr(_) => {
                    let op = if q.op == Op::In { "= ANY" } else { q.op.sql() };
                    format!("{} {op} {}", connector_core::model::quote_ident(&q.column), value_sql(&q.value, &texts))
                }
            })
            .collect();
        explain_text(es, "Pushed conditions", &if pushed.is_empty() { "none".into() } else { pushed.join(" AND ") });
        if !state.plan.sorts.is_empty() {
            let sorts: Vec<String> = state.plan.sorts.iter().map(|s| s.to_string()).collect();
            explain_text(es, "Pushed sort", &sorts.join(", "));
        }
        if let Some(null_split) = &state.plan.null_split {
            let [first, then] = null_split.phase_ops();
            let column = connector_core::model::quote_ident(&null_split.column);
            explain_text(es, "Sort phases", &format!("{column} {}, then {column} {}", first.sql(), then.sql()));
        }
        if state.plan.count {
            explain_text(es, "Pushed aggregate", "count(*)");
        }
        if let Some(limit) = &state.plan.limit {
            // After execution the evaluated numbers, before it the planned values.
            let evaluated = state.request.as_ref().and_then(|r| r.limit);
            let count = match evaluated {
                Some(l) => l.count.map(|n| n.to_string()),
                None => limit.count.as_ref().map(|c| value_sql(c, &texts)),
            };
            let offset = match evaluated {
                Some(l) => (l.offset > 0).then(|| l.offset.to_string()),
                None => limit.offset.as_ref().map(|o| value_sql(o, &texts)),
            };
            let mut text = format!("LIMIT {}", count.unwrap_or_else(|| "ALL".into()));
            if let Some(offset) = offset {
                text.push_str(&format!(" OFFSET {offset}"));
            }
            explain_text(es, "Pushed limit", &text);
        }
    }
    if (*es).analyze {
        let c = state.counters();
        if let Some(by_total) = state.counted_by_total {
            explain_text(es, "Counted from", if by_total { "provider total" } else { "every page (no usable total)" });
        }
        explain_int(es, "Requests", None, c.requests);
        if super::cache::caches(&state.foreign.server.options, &state.foreign.table.options) {
            explain_int(es, "Cache hits", None, c.cache_hits);
        }
        explain_int(es, "Pages", None, c.pages);
        if partitioned {
            explain_int(es, "Windows", None, c.windows);
        }
        explain_int(es, "Bytes", Some("bytes"), c.bytes);
        explain_int(es, "Retries", None, c.retries);
        explain_int(es, "Throttled", Some("ms"), c.throttled_us / 1000);
    }
}

/// Run network work on the runtime while the backend waits in slices, checking for interrupts, so cancel
/// and statement_timeout end it; the work is aborted if the backend stops waiting.
pub fn run_interruptibly<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let runtime = clients::runtime();
    let mut handle = runtime.spawn(work);
    let _abort = AbortOnDrop(handle.abort_handle());
    loop {
        match runtime.block_on(async { tokio::time::timeout(WAIT_SLICE, &mut handle).await }) {
            Ok(Ok(done)) => return done,
            Ok(Err(e)) => raise(Error::internal(format!("connector_fdw bug: a request task failed: {e}"))),
            Err(_) => {
                pg_sys::check_for_interrupts!();
            }
        }
    }
}
