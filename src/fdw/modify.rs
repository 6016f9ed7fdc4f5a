//! INSERT, UPDATE and DELETE on foreign tables, and COPY into them, through the connector's `Writer`.
//!
//! A row becomes a JSON record (each column's value at the column's path). UPDATE and DELETE identify
//! the row by the writer's key column, which the planner carries as a junk column `cfdw_key`. Inserts are
//! batched to the provider's limit (Postgres' batch insert API) unless RETURNING or row triggers need
//! them one at a time; so are updates and deletes, for providers with batch endpoints: their rows are held
//! until a batch is full and the rest sent when the statement's modify ends. RETURNING shows what the
//! provider answered.

use super::catalog::{self, Foreign};
use super::clients;
use super::datum::{datum_to_json, datum_to_value, store_cells, OutColumn};
use super::exec::run_interruptibly;
use super::pg::{cstr, deform_slot, list_ptrs, make_list, pstrdup, raise, slot_attr, OrRaise};
use connector_core::http::{Counters, Http};
use connector_core::model::Value;
use connector_core::scan::Projector;
use connector_core::write::{self, WriteOp, Writer};
use connector_core::{Error, ErrorKind};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::ffi::CString;
use std::sync::Arc;

const KEY_JUNK: &std::ffi::CStr = c"cfdw_key";

/// The plan of one modify, in `fdw_private`.
#[derive(Serialize, Deserialize)]
struct ModifyPlan {
    relid: u32,
    op: Op,
    /// Table column indexes written (all for INSERT, the SET columns for UPDATE).
    columns: Vec<usize>,
    returning: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Op {
    Insert,
    Update,
    Delete,
}

impl From<Op> for WriteOp {
    fn from(op: Op) -> Self {
        match op {
            Op::Insert => WriteOp::Insert,
            Op::Update => WriteOp::Update,
            Op::Delete => WriteOp::Delete,
        }
    }
}

struct ModifyState {
    plan: ModifyPlan,
    foreign: Foreign,
    writer: Arc<dyn Writer>,
    /// None in EXPLAIN without ANALYZE.
    http: Option<Arc<Http>>,
    counters: Arc<Counters>,
    /// Attribute number of the key junk column in the plan slot (UPDATE, DELETE).
    key_attno: pg_sys::AttrNumber,
    key_type: pg_sys::Oid,
    /// Every column, for RETURNING.
    returning: Option<(Projector, Vec<OutColumn>)>,
    /// Rows per UPDATE or DELETE request (1 when RETURNING, triggers or check options need each row's answer).
    change_batch: usize,
    /// UPDATE or DELETE rows not sent yet: the key and, for UPDATE, the changes.
    pending: Vec<(Value, Json)>,
}

/// The writer of a foreign table, or an error that says the connector is read-only.
fn writer_of(foreign: &Foreign) -> Arc<dyn Writer> {
    foreign.handle.writer().unwrap_or_else(|| {
        raise(Error::not_supported(format!(
            "foreign table \"{}\" is read-only: connector \"{}\" does not write",
            foreign.table.name,
            foreign.connector.name()
        )))
    })
}

fn key_index(foreign: &Foreign, writer: &dyn Writer, op: &str) -> usize {
    let key = writer.key_column();
    foreign
        .table
        .columns
        .iter()
        .enumerate()
        .position(|(i, c)| c.name == key && !foreign.attrs[i].dropped)
        .unwrap_or_else(|| {
            raise(
                Error::new(
                    ErrorKind::MissingOption,
                    format!(
                        "cannot {op} rows of foreign table \"{}\": it has no column \"{key}\" to identify them",
                        foreign.table.name
                    ),
                )
                .with_hint("Add the column, or name another one with the table option key_column."),
            )
        })
}

#[pg_guard]
pub unsafe extern "C-unwind" fn add_foreign_update_targets(
    root: *mut pg_sys::PlannerInfo,
    rtindex: pg_sys::Index,
    _target_rte: *mut pg_sys::RangeTblEntry,
    relation: pg_sys::Relation,
) {
    let foreign = catalog::load((*relation).rd_id);
    let writer = writer_of(&foreign);
    let index = key_index(&foreign, writer.as_ref(), "update or delete");
    let attr = &foreign.attrs[index];
    let var = pg_sys::makeVar(rtindex as _, (index + 1) as i16, attr.type_oid, attr.typmod, attr.collation, 0);
    pg_sys::add_row_identity_var(root, var, rtindex, KEY_JUNK.as_ptr());
}

#[pg_guard]
pub unsafe extern "C-unwind" fn plan_foreign_modify(
    root: *mut pg_sys::PlannerInfo,
    plan: *mut pg_sys::ModifyTable,
    result_relation: pg_sys::Index,
    subplan_index: std::ffi::c_int,
) -> *mut pg_sys::List {
    let rte = *(*root).simple_rte_array.add(result_relation as usize);
    let foreign = catalog::load((*rte).relid);
    let op = match (*plan).operation {
        pg_sys::CmdType::CMD_INSERT => Op::Insert,
        pg_sys::CmdType::CMD_UPDATE => Op::Update,
        pg_sys::CmdType::CMD_DELETE => Op::Delete,
        other => raise(Error::not_supported(format!("command {other} on foreign tables"))),
    };
    let columns = match op {
        Op::Insert => (0..foreign.attrs.len()).filter(|&i| !foreign.attrs[i].dropped).collect(),
        // The SET columns, numbered for this result relation (a partition's own numbering too).
        Op::Update => match list_ptrs::<pg_sys::List>((*plan).updateColnosLists).get(subplan_index as usize) {
            Some(&colnos) if !colnos.is_null() => {
                (0..(*colnos).length as usize).map(|i| (*(*colnos).elements.add(i)).int_value as usize - 1).collect()
            }
            _ => Vec::new(),
        },
        Op::Delete => Vec::new(),
    };
    let returning =
        !list_ptrs::<pg_sys::List>((*plan).returningLists).get(subplan_index as usize).is_none_or(|l| l.is_null());
    let plan = ModifyPlan { relid: (*rte).relid.to_u32(), op, columns, returning };
    make_list([pg_sys::makeString(pstrdup(&serde_json::to_string(&plan).expect("plans serialize")))])
}

unsafe fn modify_plan(private: *mut pg_sys::List) -> ModifyPlan {
    let json = list_ptrs::<pg_sys::String>(private).first().map(|s| cstr((**s).sval)).unwrap_or_default();
    serde_json::from_str(&json)
        .unwrap_or_else(|e| raise(Error::internal(format!("corrupt connector_fdw modify plan: {e}"))))
}

unsafe fn begin(
    estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    plan: ModifyPlan,
    subplan: *mut pg_sys::PlanState,
    explain_only: bool,
) {
    let foreign = catalog::load(pg_sys::Oid::from(plan.relid));
    let writer = writer_of(&foreign);
    let http = (!explain_only).then(|| {
        let user = super::compat::result_rel_user(rinfo, estate);
        let (mapping, options) = super::credentials::user_mapping(foreign.server_oid, user);
        clients::http_client(foreign.server_oid, user, mapping, &foreign.server, &options)
    });
    let (mut key_attno, mut key_type) = (0, pg_sys::InvalidOid);
    if matches!(plan.op, Op::Update | Op::Delete) && !subplan.is_null() {
        key_attno = pg_sys::ExecFindJunkAttributeInTlist((*(*subplan).plan).targetlist, KEY_JUNK.as_ptr());
        if key_attno <= 0 {
            raise(Error::internal("the row key column is missing from the plan"));
        }
        key_type = foreign.attrs[key_index(&foreign, writer.as_ref(), "update or delete")].type_oid;
    }
    let returning = plan.returning.then(|| {
        let all: Vec<usize> = (0..foreign.attrs.len()).filter(|&i| !foreign.attrs[i].dropped).collect();
        let projector = Projector::new(&foreign.table, &all).or_raise();
        let columns = all
            .iter()
            .map(|&i| {
                OutColumn::new(
                    i,
                    foreign.table.columns[i].name.clone(),
                    foreign.attrs[i].type_oid,
                    foreign.attrs[i].typmod,
                )
            })
            .collect();
        (projector, columns)
    });
    let change_batch = if plan.returning || row_by_row(rinfo, plan.op) { 1 } else { writer.change_batch_size().max(1) };
    let state = ModifyState {
        plan,
        foreign,
        writer,
        http,
        counters: Arc::default(),
        key_attno,
        key_type,
        returning,
        change_batch,
        pending: Vec::new(),
    };
    (*rinfo).ri_FdwState = PgMemoryContexts::For((*estate).es_query_cxt).leak_and_drop_on_delete(state) as *mut _;
}

#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_modify(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    fdw_private: *mut pg_sys::List,
    _subplan_index: std::ffi::c_int,
    eflags: std::ffi::c_int,
) {
    let explain_only = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0;
    begin((*mtstate).ps.state, rinfo, modify_plan(fdw_private), (*mtstate).ps.lefttree, explain_only);
}

/// COPY into a foreign table, or a row routed to a foreign partition.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_insert(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
) {
    let relid = (*(*rinfo).ri_RelationDesc).rd_id;
    let foreign = catalog::load(relid);
    let columns = (0..foreign.attrs.len()).filter(|&i| !foreign.attrs[i].dropped).collect();
    let returning = !(*rinfo).ri_projectReturning.is_null();
    let plan = ModifyPlan { relid: relid.to_u32(), op: Op::Insert, columns, returning };
    begin((*mtstate).ps.state, rinfo, plan, std::ptr::null_mut(), false);
}

/// Whether triggers or check options must see each UPDATE or DELETE row done before the next one (or
/// before the statement's AFTER triggers, which run before the modify ends).
unsafe fn row_by_row(rinfo: *mut pg_sys::ResultRelInfo, op: Op) -> bool {
    if !(*rinfo).ri_WithCheckOptions.is_null() {
        return true;
    }
    let Some(t) = (*rinfo).ri_TrigDesc.as_ref() else { return false };
    match op {
        Op::Insert => false,
        Op::Update => t.trig_update_before_row || t.trig_update_after_row || t.trig_update_after_statement,
        Op::Delete => t.trig_delete_before_row || t.trig_delete_after_row || t.trig_delete_after_statement,
    }
}

unsafe fn state<'a>(rinfo: *mut pg_sys::ResultRelInfo) -> &'a mut ModifyState {
    &mut *((*rinfo).ri_FdwState as *mut ModifyState)
}

/// The record of the written columns of a slot (NULLs left out of inserts: providers set defaults).
unsafe fn slot_record(state: &ModifyState, slot: *mut pg_sys::TupleTableSlot) -> Json {
    let natts = (*(*slot).tts_tupleDescriptor).natts;
    deform_slot(slot, natts);
    let values = std::slice::from_raw_parts((*slot).tts_values, natts as usize);
    let nulls = std::slice::from_raw_parts((*slot).tts_isnull, natts as usize);
    let fields: Vec<(usize, Json)> = state
        .plan
        .columns
        .iter()
        .filter(|&&i| !(state.plan.op == Op::Insert && nulls[i]))
        .map(|&i| (i, datum_to_json(values[i], nulls[i], state.foreign.attrs[i].type_oid)))
        .collect();
    write::record(&state.foreign.table, &fields).or_raise()
}

unsafe fn row_key(state: &ModifyState, plan_slot: *mut pg_sys::TupleTableSlot) -> Value {
    let (datum, is_null) = slot_attr(plan_slot, state.key_attno as i32);
    if is_null {
        raise(Error::new(
            ErrorKind::InvalidValue,
            format!(
                "the key column \"{}\" of foreign table \"{}\" is NULL",
                state.writer.key_column(),
                state.foreign.table.name
            ),
        ));
    }
    datum_to_value(datum, false, state.key_type)
}

/// Put what the provider answered into the RETURNING slot (when it answered a record).
unsafe fn store_answer(state: &mut ModifyState, slot: *mut pg_sys::TupleTableSlot, answer: Json) {
    let Some((projector, columns)) = state.returning.as_mut() else { return };
    if !answer.is_object() {
        return;
    }
    let block = projector.project(vec![answer]).or_raise();
    if let Some(clear) = (*(*slot).tts_ops).clear {
        clear(slot);
    }
    store_cells(columns, block.row(0), slot, &state.foreign.table.name);
}

fn client(state: &ModifyState) -> Arc<Http> {
    state.http.clone().expect("writes run with a client")
}

#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    _plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    let state = state(rinfo);
    let record = slot_record(state, slot);
    let (writer, http, counters) = (state.writer.clone(), client(state), state.counters.clone());
    let answer = run_interruptibly(async move { writer.insert(&http, vec![record], &counters).await }).or_raise();
    store_answer(state, slot, answer.into_iter().next().unwrap_or(Json::Null));
    slot
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_modify_batch_size(rinfo: *mut pg_sys::ResultRelInfo) -> std::ffi::c_int {
    let state = state(rinfo);
    // RETURNING and row triggers need each row's answer as it is inserted.
    let triggers = !(*rinfo).ri_TrigDesc.is_null()
        && ((*(*rinfo).ri_TrigDesc).trig_insert_after_row || (*(*rinfo).ri_TrigDesc).trig_insert_before_row);
    if state.plan.returning || triggers || !(*rinfo).ri_WithCheckOptions.is_null() {
        return 1;
    }
    state.writer.batch_size().clamp(1, 1000) as std::ffi::c_int
}

#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_batch_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slots: *mut *mut pg_sys::TupleTableSlot,
    _plan_slots: *mut *mut pg_sys::TupleTableSlot,
    count: *mut std::ffi::c_int,
) -> *mut *mut pg_sys::TupleTableSlot {
    let state = state(rinfo);
    let rows = std::slice::from_raw_parts(slots, *count as usize);
    let records: Vec<Json> = rows.iter().map(|&slot| slot_record(state, slot)).collect();
    let (writer, http, counters) = (state.writer.clone(), client(state), state.counters.clone());
    run_interruptibly(async move { writer.insert(&http, records, &counters).await }).or_raise();
    slots
}

#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_update(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    let state = state(rinfo);
    let key = row_key(state, plan_slot);
    let changes = slot_record(state, slot);
    if state.change_batch > 1 {
        hold(state, key, changes);
        return slot;
    }
    let (writer, http, counters) = (state.writer.clone(), client(state), state.counters.clone());
    let answer = run_interruptibly(async move { writer.update(&http, &key, changes, &counters).await }).or_raise();
    store_answer(state, slot, answer);
    slot
}

#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_delete(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    let state = state(rinfo);
    let key = row_key(state, plan_slot);
    if state.change_batch > 1 {
        hold(state, key, Json::Null);
        return slot;
    }
    let (writer, http, counters) = (state.writer.clone(), client(state), state.counters.clone());
    let answer = run_interruptibly(async move { writer.delete(&http, &key, &counters).await }).or_raise();
    store_answer(state, slot, answer);
    slot
}

/// Hold an UPDATE or DELETE row for the next batch; a full batch is sent. A key already held is sent
/// first, so one request never names a record twice.
fn hold(state: &mut ModifyState, key: Value, changes: Json) {
    if state.pending.iter().any(|(held, _)| *held == key) {
        send_pending(state);
    }
    state.pending.push((key, changes));
    if state.pending.len() >= state.change_batch {
        send_pending(state);
    }
}

fn send_pending(state: &mut ModifyState) {
    if state.pending.is_empty() {
        return;
    }
    let rows = std::mem::take(&mut state.pending);
    let (writer, http, counters) = (state.writer.clone(), client(state), state.counters.clone());
    let op = state.plan.op;
    run_interruptibly(async move {
        match op {
            Op::Update => writer.update_batch(&http, rows, &counters).await,
            _ => writer.delete_batch(&http, rows.into_iter().map(|(key, _)| key).collect(), &counters).await,
        }
    })
    .or_raise();
}

#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_modify(_estate: *mut pg_sys::EState, rinfo: *mut pg_sys::ResultRelInfo) {
    // The state itself is freed with the query's memory; rows still held are sent now.
    if let Some(state) = ((*rinfo).ri_FdwState as *mut ModifyState).as_mut() {
        send_pending(state);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn is_foreign_rel_updatable(relation: pg_sys::Relation) -> std::ffi::c_int {
    // Asked by information_schema for every foreign table: never fail here, answer "not updatable".
    let writable = catalog::try_load((*relation).rd_id).is_some_and(|f| f.handle.writer().is_some());
    if writable {
        (1 << pg_sys::CmdType::CMD_INSERT) | (1 << pg_sys::CmdType::CMD_UPDATE) | (1 << pg_sys::CmdType::CMD_DELETE)
    } else {
        0
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_modify(
    _mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    _fdw_private: *mut pg_sys::List,
    _subplan_index: std::ffi::c_int,
    es: *mut pg_sys::ExplainState,
) {
    let state = state(rinfo);
    let text = |label: &str, value: &str| {
        let label = CString::new(label).expect("label");
        let value = CString::new(value.replace('\0', "")).expect("NULs removed");
        pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
    };
    text("Connector", state.foreign.connector.name());
    text("Remote request", &state.writer.describe(state.plan.op.into()));
    // Shown for inserts, and for updates and deletes where the provider takes several at once.
    if (*es).verbose && (state.plan.op == Op::Insert || state.writer.change_batch_size() > 1) {
        let size = if state.plan.op == Op::Insert {
            get_foreign_modify_batch_size(rinfo) as usize
        } else {
            state.change_batch
        };
        let label = c"Batch size";
        pg_sys::ExplainPropertyInteger(label.as_ptr(), std::ptr::null(), size as i64, es);
    }
    if (*es).analyze {
        // EXPLAIN ANALYZE prints before the modify ends: send the last batch now so it is counted.
        send_pending(state);
        let c = state.counters.snapshot();
        let label = c"Requests";
        pg_sys::ExplainPropertyInteger(label.as_ptr(), std::ptr::null(), c.requests as i64, es);
    }
}
