//! Planning: find the conditions, orderings and limits a connector could serve, let
//! `connector_core::pushdown` decide, and hand the executor a serialized plan.
//!
//! Conditions of the form `column op value` (op one of = <> < <= > >=), `column IN (…)`/`= ANY(…)`,
//! `column IS [NOT] NULL` and bare boolean columns are candidates. A value may be any expression without
//! columns, volatile functions or subplans (constants, parameters, `now() - interval '1 day'`); non-constant
//! values are evaluated when the scan starts. ORDER BY on plain columns becomes a presorted path; LIMIT and
//! OFFSET are pushed through a path on the final upper relation, only when every condition was pushed and
//! the query's order (if any) too. A plain `count(*)` (no GROUP BY, HAVING, FILTER or DISTINCT) becomes a
//! path on the grouping relation when every condition was pushed and the table's answers tell a total.
//!
//! A join condition `column = <other table's expression>` on a column whose `=` is pushed gives a
//! parameterized path (as postgres_fdw's): a Nested Loop rescans the foreign table once per outer row, and
//! each scan sends the outer row's value, so a few keys cost a few requests instead of every page. Each
//! request costs as much as a page of a full scan, so a full scan (and a hash join) wins for many keys.

use super::catalog::{self, Foreign};
use super::compat;
use super::datum::datum_to_value;
use super::pg::{cstr, list_ptrs, make_list, pstrdup, raise};
use super::PUSHDOWN;
use connector_core::model::{NullSplit, Op, Sort, Value};
use connector_core::pushdown::{self, Candidate, Capabilities, Decision, Placement};
use connector_core::Error;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use serde::{Deserialize, Serialize};

/// A value a pushed condition or limit compares with: known at plan time, or an expression (index into
/// the plan's `fdw_exprs`) evaluated when the scan starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Planned {
    Const(Value),
    Expr(usize),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedQual {
    pub column: String,
    pub op: Op,
    pub value: Planned,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedLimit {
    pub count: Option<Planned>,
    pub offset: Option<Planned>,
}

/// Everything the executor needs, serialized into the ForeignScan's `fdw_private` (plans are copied and
/// cached, so it must be plain data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanPlan {
    pub relid: u32,
    /// A scan of the final upper relation (scanrelid 0): the scan tuple is `fdw_scan_tlist`.
    pub upper: bool,
    /// Table column indexes to fetch, in projection order.
    pub columns: Vec<usize>,
    /// Scan-tuple position of each fetched column.
    pub slots: Vec<usize>,
    pub quals: Vec<PlannedQual>,
    pub sorts: Vec<Sort>,
    pub limit: Option<PlannedLimit>,
    /// The scan answers `count(*)`: its scan tuple is that one bigint.
    #[serde(default)]
    pub count: bool,
    /// The pushed sort is read in two phases, NULLs of its first key apart.
    #[serde(default)]
    pub null_split: Option<NullSplit>,
}

/// A restriction clause and, when it has a pushable shape, its parts.
#[derive(Clone)]
struct Condition {
    rinfo: *mut pg_sys::RestrictInfo,
    shape: Option<Shape>,
}

#[derive(Clone)]
struct Shape {
    column: String,
    op: Op,
    /// The value side; null for IS [NOT] NULL and bare boolean columns (whose value is in `fixed`).
    value: *mut pg_sys::Expr,
    fixed: Option<Value>,
}

/// Planner state of a base foreign relation, in `RelOptInfo.fdw_private`.
pub struct RelState {
    foreign: Foreign,
    caps: Capabilities,
    conditions: Vec<Condition>,
    decision: Decision,
    /// Table column indexes the query reads (output and local conditions).
    columns: Vec<usize>,
    /// The query's ORDER BY as sorts, when every key is a plain column the provider can sort by.
    sorts: Vec<Sort>,
    rows: f64,
    /// The provider's page size, when it pages (see `Table::rows_per_request`).
    rows_per_request: Option<u64>,
    /// The column that identifies a record (the write key), at most one row per value.
    key_column: Option<String>,
}

/// Planner state of an upper relation we may scan: the base relation below it.
struct UpperState {
    base: *mut pg_sys::RelOptInfo,
    ordered: bool,
    /// The grouping relation of a pushed `count(*)`.
    count: bool,
}

/// The cost of one request (one page); a scan starts with one.
const REQUEST_COST: f64 = 100.0;
const ROW_COST: f64 = 0.01;
const DEFAULT_ROWS: f64 = 1000.0;

/// Startup and total cost of a scan that fetches `rows` records, one request per page.
fn scan_cost(rows: f64, rows_per_request: Option<u64>) -> (f64, f64) {
    let requests = rows_per_request.map_or(1.0, |n| (rows / n as f64).ceil().max(1.0));
    (REQUEST_COST, REQUEST_COST * requests + rows * ROW_COST)
}

fn is_builtin(oid: pg_sys::Oid) -> bool {
    oid.to_u32() < pg_sys::FirstGenbkiObjectId
}

unsafe fn strip_relabel(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    while !node.is_null() && pgrx::is_a(node, pg_sys::NodeTag::T_RelabelType) {
        node = (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node;
    }
    node
}

/// The table column a node refers to, if it is a plain column of this relation.
unsafe fn own_column(node: *mut pg_sys::Node, rel: *mut pg_sys::RelOptInfo, foreign: &Foreign) -> Option<usize> {
    let node = strip_relabel(node);
    if node.is_null() || !pgrx::is_a(node, pg_sys::NodeTag::T_Var) {
        return None;
    }
    let var = node as *mut pg_sys::Var;
    let index = (*var).varattno as i64 - 1;
    let ours = (*var).varno as u32 == (*rel).relid && (*var).varlevelsup == 0 && index >= 0;
    (ours && foreign.attrs.get(index as usize).is_some_and(|a| !a.dropped)).then_some(index as usize)
}

/// An expression whose value is fixed for one scan.
unsafe fn is_scan_constant(node: *mut pg_sys::Node) -> bool {
    !pg_sys::contain_var_clause(node) && !pg_sys::contain_volatile_functions(node) && !pg_sys::contain_subplans(node)
}

/// Where a condition's value may come from.
#[derive(Clone, Copy)]
enum Values {
    /// Fixed for one scan (`is_scan_constant`): a restriction of the relation.
    Scan,
    /// Also columns of other relations, which the join sets as parameters before each (re)scan: a join
    /// condition moved into a parameterized scan.
    Outer(*mut pg_sys::PlannerInfo),
}

impl Values {
    unsafe fn allow(self, node: *mut pg_sys::Node, rel: *mut pg_sys::RelOptInfo) -> bool {
        match self {
            Values::Scan => is_scan_constant(node),
            Values::Outer(root) => {
                !pg_sys::contain_volatile_functions(node)
                    && !pg_sys::contain_subplans(node)
                    && !pg_sys::bms_is_member((*rel).relid as i32, pg_sys::pull_varnos(root, node))
            }
        }
    }
}

unsafe fn operator(opno: pg_sys::Oid) -> Option<Op> {
    if !is_builtin(opno) {
        return None;
    }
    let name = pg_sys::get_opname(opno);
    (!name.is_null()).then(|| Op::from_sql(&cstr(name))).flatten()
}

/// A constant NaN or infinity that every non-NULL value satisfies (`created < 'infinity'`): such a value
/// is never sent, so the condition stays with Postgres. One that no value satisfies is pushed and decided at
/// execution (no rows, no request).
unsafe fn holds_for_every_value(op: Op, node: *mut pg_sys::Node) -> bool {
    let node = strip_relabel(node);
    if !pgrx::is_a(node, pg_sys::NodeTag::T_Const) {
        return false;
    }
    let c = node as *mut pg_sys::Const;
    let value = datum_to_value((*c).constvalue, (*c).constisnull, (*c).consttype);
    connector_core::model::non_finite_condition(op, &value) == Some(true)
}

unsafe fn shape(
    clause: *mut pg_sys::Node,
    rel: *mut pg_sys::RelOptInfo,
    foreign: &Foreign,
    values: Values,
) -> Option<Shape> {
    let column_name = |i: usize| foreign.table.columns[i].name.clone();
    let is_bool_column = |i: usize| foreign.attrs[i].type_oid == pg_sys::BOOLOID;
    if pgrx::is_a(clause, pg_sys::NodeTag::T_OpExpr) {
        let op_expr = clause as *mut pg_sys::OpExpr;
        let args = list_ptrs::<pg_sys::Node>((*op_expr).args);
        let op = operator((*op_expr).opno)?;
        if args.len() != 2 {
            return None;
        }
        if let Some(i) = own_column(args[0], rel, foreign) {
            if values.allow(args[1], rel) && !holds_for_every_value(op, args[1]) {
                return Some(Shape { column: column_name(i), op, value: args[1] as _, fixed: None });
            }
        }
        if let (Some(i), Some(op)) = (own_column(args[1], rel, foreign), op.commuted()) {
            if values.allow(args[0], rel) && !holds_for_every_value(op, args[0]) {
                return Some(Shape { column: column_name(i), op, value: args[0] as _, fixed: None });
            }
        }
        return None;
    }
    if pgrx::is_a(clause, pg_sys::NodeTag::T_ScalarArrayOpExpr) {
        let sa = clause as *mut pg_sys::ScalarArrayOpExpr;
        let args = list_ptrs::<pg_sys::Node>((*sa).args);
        if !(*sa).useOr || args.len() != 2 || operator((*sa).opno) != Some(Op::Eq) {
            return None;
        }
        let i = own_column(args[0], rel, foreign)?;
        return values.allow(args[1], rel).then(|| Shape {
            column: column_name(i),
            op: Op::In,
            value: args[1] as _,
            fixed: None,
        });
    }
    if pgrx::is_a(clause, pg_sys::NodeTag::T_NullTest) {
        let test = clause as *mut pg_sys::NullTest;
        if (*test).argisrow {
            return None;
        }
        let i = own_column((*test).arg as _, rel, foreign)?;
        let op = if (*test).nulltesttype == pg_sys::NullTestType::IS_NULL { Op::IsNull } else { Op::IsNotNull };
        return Some(Shape { column: column_name(i), op, value: std::ptr::null_mut(), fixed: Some(Value::Null) });
    }
    if let Some(i) = own_column(clause, rel, foreign) {
        return is_bool_column(i).then(|| Shape {
            column: column_name(i),
            op: Op::Eq,
            value: std::ptr::null_mut(),
            fixed: Some(Value::Bool(true)),
        });
    }
    if pgrx::is_a(clause, pg_sys::NodeTag::T_BoolExpr) {
        let b = clause as *mut pg_sys::BoolExpr;
        let args = list_ptrs::<pg_sys::Node>((*b).args);
        if (*b).boolop == pg_sys::BoolExprType::NOT_EXPR && args.len() == 1 {
            let i = own_column(args[0], rel, foreign)?;
            return is_bool_column(i).then(|| Shape {
                column: column_name(i),
                op: Op::Eq,
                value: std::ptr::null_mut(),
                fixed: Some(Value::Bool(false)),
            });
        }
    }
    None
}

/// The query's ORDER BY as sorts on this relation's columns, if every key is a plain column ordered by its
/// type's default btree operators (so the provider's ordering can mean the same).
unsafe fn query_sorts(root: *mut pg_sys::PlannerInfo, rel: *mut pg_sys::RelOptInfo, foreign: &Foreign) -> Vec<Sort> {
    let mut sorts = Vec::new();
    for pathkey in list_ptrs::<pg_sys::PathKey>((*root).query_pathkeys) {
        let ec = (*pathkey).pk_eclass;
        if (*ec).ec_has_volatile {
            return Vec::new();
        }
        let collation = (*ec).ec_collation;
        if collation != pg_sys::InvalidOid
            && collation != pg_sys::DEFAULT_COLLATION_OID
            && collation != pg_sys::C_COLLATION_OID
        {
            return Vec::new();
        }
        let member = list_ptrs::<pg_sys::EquivalenceMember>((*ec).ec_members)
            .into_iter()
            .find_map(|em| own_column((*em).em_expr as _, rel, foreign).map(|i| (i, em)));
        let Some((index, em)) = member else { return Vec::new() };
        let type_oid = pg_sys::exprType((*em).em_expr as _);
        let opclass = pg_sys::GetDefaultOpClass(type_oid, pg_sys::BTREE_AM_OID);
        if opclass == pg_sys::InvalidOid || pg_sys::get_opclass_family(opclass) != (*pathkey).pk_opfamily {
            return Vec::new();
        }
        let Some(desc) = super::compat::pathkey_descending(pathkey) else { return Vec::new() };
        sorts.push(Sort {
            column: foreign.table.columns[index].name.clone(),
            desc,
            nulls_first: (*pathkey).pk_nulls_first,
        });
    }
    sorts
}

/// Table column indexes referenced by `node` (all columns for a whole-row reference).
unsafe fn columns_used(node: *mut pg_sys::Node, relid: u32, all: usize, into: &mut Vec<usize>) {
    let mut set: *mut pg_sys::Bitmapset = std::ptr::null_mut();
    pg_sys::pull_varattnos(node, relid, &mut set);
    let mut member = -1;
    loop {
        member = pg_sys::bms_next_member(set, member);
        if member < 0 {
            break;
        }
        let attno = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
        if attno == 0 {
            into.extend(0..all);
        } else if attno > 0 {
            into.push(attno as usize - 1);
        }
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    relid: pg_sys::Oid,
) {
    let foreign = catalog::load(relid);
    let caps = foreign.handle.capabilities();
    let conditions: Vec<Condition> = list_ptrs::<pg_sys::RestrictInfo>((*rel).baserestrictinfo)
        .into_iter()
        .map(|rinfo| Condition { rinfo, shape: shape((*rinfo).clause as _, rel, &foreign, Values::Scan) })
        .collect();
    let candidates: Vec<Option<Candidate>> =
        conditions.iter().map(|c| c.shape.as_ref().map(|s| Candidate { column: s.column.clone(), op: s.op })).collect();
    let sorts = query_sorts(root, rel, &foreign);
    let has_order = !(*root).query_pathkeys.is_null();
    let decision = pushdown::decide(&caps, &candidates, &sorts, has_order, PUSHDOWN.get());
    let pushed: Vec<Candidate> = candidates
        .iter()
        .zip(&decision.sent_ops)
        .filter_map(|(c, op)| Some(Candidate { column: c.as_ref()?.column.clone(), op: (*op)? }))
        .collect();
    if let Some(requirement) = pushdown::unmet_requirement(&caps, &pushed) {
        raise(requirement.error());
    }
    let relid_index = (*rel).relid;
    let all = foreign.table.columns.len();
    let mut columns = Vec::new();
    columns_used((*(*rel).reltarget).exprs as _, relid_index, all, &mut columns);
    for (condition, placement) in conditions.iter().zip(&decision.placements) {
        if *placement != Placement::Remote {
            columns_used((*condition.rinfo).clause as _, relid_index, all, &mut columns);
        }
    }
    columns.sort_unstable();
    columns.dedup();
    columns.retain(|&i| !foreign.attrs[i].dropped);
    let selectivity = pg_sys::clauselist_selectivity(
        root,
        (*rel).baserestrictinfo,
        0,
        pg_sys::JoinType::JOIN_INNER,
        std::ptr::null_mut(),
    );
    let rows = (DEFAULT_ROWS * selectivity).max(1.0);
    (*rel).rows = rows;
    // The table size Postgres' join estimates start from (rows per key of a join: tuples / distinct values).
    if (*rel).tuples <= 0.0 {
        (*rel).tuples = DEFAULT_ROWS;
    }
    let sorts = if decision.sort_pushed { sorts } else { Vec::new() };
    let rows_per_request = foreign.handle.rows_per_request();
    let key_column = foreign.handle.writer().map(|w| w.key_column().to_string());
    let state = RelState { foreign, caps, conditions, decision, columns, sorts, rows, rows_per_request, key_column };
    (*rel).fdw_private = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(state) as *mut _;
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    _relid: pg_sys::Oid,
) {
    let state = &*((*rel).fdw_private as *mut RelState);
    let (startup, total) = scan_cost(state.rows, state.rows_per_request);
    let (no_keys, no_outer) = (std::ptr::null_mut(), std::ptr::null_mut());
    let path = compat::create_foreignscan_path(root, rel, state.rows, startup, total, no_keys, no_outer);
    pg_sys::add_path(rel, path as _);
    if !state.sorts.is_empty() {
        // Presorted by the provider: the planner can drop its Sort node.
        let sorted =
            compat::create_foreignscan_path(root, rel, state.rows, startup, total, (*root).query_pathkeys, no_outer);
        pg_sys::add_path(rel, sorted as _);
    }
    if PUSHDOWN.get() {
        add_parameterized_paths(root, rel, state);
    }
}

/// What `generate_implied_equalities_for_column` looks for: one column of this relation at a time whose
/// `=` can parameterize the scan (postgres_fdw's `ec_member_matches_foreign`).
struct EcSearch<'a> {
    state: &'a RelState,
    others_sent: bool,
    current: *mut pg_sys::Expr,
    done: Vec<*mut pg_sys::Expr>,
}

#[pg_guard]
unsafe extern "C-unwind" fn ec_member_matches(
    _root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut std::ffi::c_void,
) -> bool {
    let search = &mut *(arg as *mut EcSearch);
    let expr = (*em).em_expr;
    if !search.current.is_null() {
        return pg_sys::equal(expr as _, search.current as _);
    }
    if search.done.iter().any(|d| pg_sys::equal(expr as _, *d as _)) {
        return false;
    }
    let foreign = &search.state.foreign;
    let usable = own_column(expr as _, rel, foreign).is_some_and(|i| {
        pushdown::parameterizable(&search.state.caps, &foreign.table.columns[i].name, search.others_sent, true)
    });
    if usable {
        search.current = expr;
    }
    usable
}

/// The conditions of a scan: the relation's restrictions, then the join conditions a parameterized path
/// moved into it (`clauses` holds both), with the pushdown decision over all of them.
unsafe fn scan_conditions(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    state: &RelState,
    clauses: &[*mut pg_sys::RestrictInfo],
) -> (Vec<Condition>, Decision) {
    let mut conditions = state.conditions.clone();
    for &rinfo in clauses {
        if !(*rinfo).pseudoconstant && !state.conditions.iter().any(|c| c.rinfo == rinfo) {
            conditions.push(Condition {
                rinfo,
                shape: shape((*rinfo).clause as _, rel, &state.foreign, Values::Outer(root)),
            });
        }
    }
    let candidates: Vec<Option<Candidate>> =
        conditions.iter().map(|c| c.shape.as_ref().map(|s| Candidate { column: s.column.clone(), op: s.op })).collect();
    let decision = pushdown::decide(&state.caps, &candidates, &[], false, PUSHDOWN.get());
    (conditions, decision)
}

/// Parameterized paths for the join conditions `column = <outer expression>` whose `=` is pushed, found
/// among the relation's join clauses and its equivalence classes as postgres_fdw does. Each path costs
/// one request per rescan (per outer row, fewer under a Memoize).
unsafe fn add_parameterized_paths(root: *mut pg_sys::PlannerInfo, rel: *mut pg_sys::RelOptInfo, state: &RelState) {
    let others_sent = state.decision.sent_ops.iter().any(Option::is_some);
    let mut infos: Vec<*mut pg_sys::ParamPathInfo> = Vec::new();
    let mut consider = |rinfo: *mut pg_sys::RestrictInfo| {
        if !pg_sys::join_clause_is_movable_to(rinfo, rel) {
            return;
        }
        let Some(shape) = shape((*rinfo).clause as _, rel, &state.foreign, Values::Outer(root)) else { return };
        if shape.op != Op::Eq || !pushdown::parameterizable(&state.caps, &shape.column, others_sent, true) {
            return;
        }
        let required = pg_sys::bms_union((*rinfo).clause_relids, (*rel).lateral_relids);
        let required = pg_sys::bms_del_member(required, (*rel).relid as i32);
        if pg_sys::bms_num_members(required) == 0 {
            return;
        }
        let info = pg_sys::get_baserel_parampathinfo(root, rel, required);
        if !infos.contains(&info) {
            infos.push(info);
        }
    };
    for rinfo in list_ptrs::<pg_sys::RestrictInfo>((*rel).joininfo) {
        consider(rinfo);
    }
    if (*rel).has_eclass_joins {
        let mut search = EcSearch { state, others_sent, current: std::ptr::null_mut(), done: Vec::new() };
        loop {
            search.current = std::ptr::null_mut();
            let clauses = pg_sys::generate_implied_equalities_for_column(
                root,
                rel,
                Some(ec_member_matches),
                &mut search as *mut EcSearch as *mut std::ffi::c_void,
                (*rel).lateral_referencers,
            );
            if search.current.is_null() {
                break;
            }
            for rinfo in list_ptrs::<pg_sys::RestrictInfo>(clauses) {
                consider(rinfo);
            }
            search.done.push(search.current);
        }
    }
    for info in infos {
        let clauses = list_ptrs::<pg_sys::RestrictInfo>((*info).ppi_clauses);
        let (conditions, decision) = scan_conditions(root, rel, state, &clauses);
        let sent: Vec<&Shape> = conditions
            .iter()
            .zip(&decision.sent_ops)
            .filter(|(_, op)| op.is_some())
            .filter_map(|(c, _)| c.shape.as_ref())
            .collect();
        // Each join condition sent must still be one a rescan serves with a request for its key (an item
        // lookup serves its key only alone).
        let joined = &conditions[state.conditions.len()..];
        let keys: Vec<&str> = joined
            .iter()
            .filter_map(|c| c.shape.as_ref())
            .filter(|s| s.op == Op::Eq && sent.iter().any(|t| std::ptr::eq(*t, *s)))
            .map(|s| s.column.as_str())
            .collect();
        if keys.is_empty() || !keys.iter().all(|k| pushdown::parameterizable(&state.caps, k, sent.len() > 1, true)) {
            continue;
        }
        // One record per value of the table's key, else Postgres' estimate (rows / distinct values).
        let rows =
            if keys.iter().any(|k| state.key_column.as_deref() == Some(*k)) { 1.0 } else { (*info).ppi_rows.max(1.0) };
        (*info).ppi_rows = rows;
        let (startup, total) = scan_cost(rows, state.rows_per_request);
        let path = compat::create_foreignscan_path(
            root,
            rel,
            rows,
            startup,
            total,
            std::ptr::null_mut(),
            (*info).ppi_req_outer,
        );
        pg_sys::add_path(rel, path as _);
    }
}

/// Whether a LIMIT/OFFSET expression can be evaluated when the scan starts.
unsafe fn limit_expr_ok(node: *mut pg_sys::Node) -> bool {
    node.is_null() || is_scan_constant(node)
}

/// Whether the final target needs only plain columns of the base relation (no whole-row or system
/// columns), which a scan tuple can carry.
unsafe fn final_target_ok(target: *mut pg_sys::PathTarget) -> bool {
    let vars = pg_sys::pull_var_clause((*target).exprs as _, pg_sys::PVC_RECURSE_PLACEHOLDERS as i32);
    list_ptrs::<pg_sys::Node>(vars)
        .into_iter()
        .all(|v| pgrx::is_a(v, pg_sys::NodeTag::T_Var) && (*(v as *mut pg_sys::Var)).varattno > 0)
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_upper_paths(
    root: *mut pg_sys::PlannerInfo,
    stage: pg_sys::UpperRelationKind::Type,
    input: *mut pg_sys::RelOptInfo,
    output: *mut pg_sys::RelOptInfo,
    extra: *mut std::ffi::c_void,
) {
    if !PUSHDOWN.get() || (*input).fdw_private.is_null() || !(*output).fdw_private.is_null() {
        return;
    }
    let input_is_base = (*input).reloptkind == pg_sys::RelOptKind::RELOPT_BASEREL;
    match stage {
        pg_sys::UpperRelationKind::UPPERREL_ORDERED if input_is_base => {
            // The presorted base path already carries the order; remember the base relation so the final
            // stage can push a LIMIT below this ordering.
            let state = &*((*input).fdw_private as *mut RelState);
            if !state.sorts.is_empty() {
                let upper = UpperState { base: input, ordered: true, count: false };
                (*output).fdw_private = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(upper) as *mut _;
            }
        }
        pg_sys::UpperRelationKind::UPPERREL_GROUP_AGG if input_is_base => {
            add_count_path(root, input, output, extra as *mut pg_sys::GroupPathExtraData);
        }
        pg_sys::UpperRelationKind::UPPERREL_FINAL => {
            let (base, ordered) = if input_is_base {
                (input, false)
            } else if (*input).reloptkind == pg_sys::RelOptKind::RELOPT_UPPER_REL {
                let upper = &*((*input).fdw_private as *mut UpperState);
                // A LIMIT above a count applies to its one row, in Postgres.
                if upper.count {
                    return;
                }
                (upper.base, upper.ordered)
            } else {
                return;
            };
            add_final_path(root, base, ordered, output, extra as *mut pg_sys::FinalPathExtraData);
        }
        _ => {}
    }
}

unsafe fn add_final_path(
    root: *mut pg_sys::PlannerInfo,
    base: *mut pg_sys::RelOptInfo,
    ordered: bool,
    output: *mut pg_sys::RelOptInfo,
    extra: *mut pg_sys::FinalPathExtraData,
) {
    let parse = (*root).parse;
    let state = &*((*base).fdw_private as *mut RelState);
    let target = (*root).upper_targets[pg_sys::UpperRelationKind::UPPERREL_FINAL as usize];
    let eligible = !extra.is_null()
        && (*extra).limit_needed
        && (*parse).commandType == pg_sys::CmdType::CMD_SELECT
        && (*parse).rowMarks.is_null()
        && !(*parse).hasTargetSRFs
        && (*parse).limitOption != pg_sys::LimitOption::LIMIT_OPTION_WITH_TIES
        && ((*parse).sortClause.is_null() || ordered)
        && state.decision.limit_pushable
        && state.caps.supports_limit()
        && limit_expr_ok((*parse).limitCount)
        && limit_expr_ok((*parse).limitOffset)
        && final_target_ok(target);
    if !eligible {
        return;
    }
    let rows = match (*extra).count_est {
        n if n > 0 => (n as f64).min(state.rows),
        _ => state.rows,
    };
    // Cheaper than a Limit above the base scan, which has to fetch more than it returns.
    let path = compat::create_foreign_upper_path(
        root,
        output,
        target,
        rows,
        REQUEST_COST * 0.5,
        REQUEST_COST * 0.5 + rows * ROW_COST,
        if ordered { (*root).sort_pathkeys } else { std::ptr::null_mut() },
    );
    let upper = UpperState { base, ordered, count: false };
    (*output).fdw_private = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(upper) as *mut _;
    pg_sys::add_path(output, path as _);
}

/// Whether an aggregate is a plain `count(*)`: no FILTER, DISTINCT or ORDER BY, not split for parallel or
/// partial aggregation, of this query level.
unsafe fn is_count_star(aggref: *mut pg_sys::Aggref) -> bool {
    (*aggref).aggfnoid == pg_sys::Oid::from(pg_sys::F_COUNT_)
        && (*aggref).aggstar
        && (*aggref).aggfilter.is_null()
        && (*aggref).aggdistinct.is_null()
        && (*aggref).aggorder.is_null()
        && (*aggref).agglevelsup == 0
        && (*aggref).aggkind == b'n' as std::ffi::c_char
        && (*aggref).aggsplit == pg_sys::AggSplit::AGGSPLIT_SIMPLE
}

/// The `count(*)` a list of expressions (a grouping target, a plan's tlist) computes, when it is the only
/// aggregate (other expressions are computed from it: `count(*) + 1`) and nothing else reads the table.
unsafe fn only_count_star(exprs: *mut pg_sys::List) -> Option<*mut pg_sys::Aggref> {
    let flags = pg_sys::PVC_INCLUDE_AGGREGATES | pg_sys::PVC_INCLUDE_WINDOWFUNCS | pg_sys::PVC_INCLUDE_PLACEHOLDERS;
    let found = list_ptrs::<pg_sys::Node>(pg_sys::pull_var_clause(exprs as _, flags as i32));
    let mut count = None;
    for node in found {
        if !pgrx::is_a(node, pg_sys::NodeTag::T_Aggref) || !is_count_star(node as _) {
            return None;
        }
        count.get_or_insert(node as *mut pg_sys::Aggref);
    }
    count
}

/// `SELECT count(*) FROM t WHERE …` (no GROUP BY, grouping sets or HAVING) when every condition was
/// pushed and the table's answers tell a total: a scan of the grouping relation that returns the count.
unsafe fn add_count_path(
    root: *mut pg_sys::PlannerInfo,
    base: *mut pg_sys::RelOptInfo,
    output: *mut pg_sys::RelOptInfo,
    extra: *mut pg_sys::GroupPathExtraData,
) {
    let parse = (*root).parse;
    let state = &*((*base).fdw_private as *mut RelState);
    let target = (*output).reltarget;
    let eligible = !extra.is_null()
        && (*extra).patype == pg_sys::PartitionwiseAggregateType::PARTITIONWISE_AGGREGATE_NONE
        && (*parse).commandType == pg_sys::CmdType::CMD_SELECT
        && (*parse).groupClause.is_null()
        && (*parse).groupingSets.is_null()
        && (*parse).havingQual.is_null()
        && !(*parse).hasTargetSRFs
        && state.decision.count_pushable
        && only_count_star((*target).exprs).is_some();
    if !eligible {
        return;
    }
    // One small request instead of every page and an Agg node.
    let path = compat::create_foreign_upper_path(
        root,
        output,
        target,
        1.0,
        REQUEST_COST * 0.5,
        REQUEST_COST * 0.5 + ROW_COST,
        std::ptr::null_mut(),
    );
    let upper = UpperState { base, ordered: false, count: true };
    (*output).fdw_private = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(upper) as *mut _;
    pg_sys::add_path(output, path as _);
}

/// Collects the expressions evaluated at scan start into `fdw_exprs`.
struct Exprs {
    list: Vec<*mut pg_sys::Expr>,
}

impl Exprs {
    /// A plan-time value for constants, else an index into `fdw_exprs`.
    unsafe fn plan(&mut self, expr: *mut pg_sys::Expr) -> Planned {
        let node = strip_relabel(expr as _);
        if pgrx::is_a(node, pg_sys::NodeTag::T_Const) {
            let c = node as *mut pg_sys::Const;
            return Planned::Const(datum_to_value((*c).constvalue, (*c).constisnull, (*c).consttype));
        }
        self.list.push(expr);
        Planned::Expr(self.list.len() - 1)
    }
}

/// The condition `shape` as sent to the provider, with operator `op` (its own or a weaker one).
unsafe fn planned_qual(shape: &Shape, op: Op, exprs: &mut Exprs) -> PlannedQual {
    let value = match &shape.fixed {
        Some(v) => Planned::Const(v.clone()),
        None => exprs.plan(shape.value),
    };
    PlannedQual { column: shape.column.clone(), op, value }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    _relid: pg_sys::Oid,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    let upper = (*rel).reloptkind == pg_sys::RelOptKind::RELOPT_UPPER_REL;
    let (base, ordered, count) = if upper {
        let u = &*((*rel).fdw_private as *mut UpperState);
        (u.base, u.ordered, u.count)
    } else {
        (rel, !(*best_path).path.pathkeys.is_null(), false)
    };
    let state = &*((*base).fdw_private as *mut RelState);
    // A parameterized path's clauses include the join conditions it moved into the scan.
    let clauses = if upper { Vec::new() } else { list_ptrs::<pg_sys::RestrictInfo>(scan_clauses) };
    let (conditions, decision) = scan_conditions(root, base, state, &clauses);
    let mut exprs = Exprs { list: Vec::new() };
    let mut quals = Vec::new();
    let mut local = Vec::new();
    for ((condition, placement), sent) in conditions.iter().zip(&decision.placements).zip(&decision.sent_ops) {
        if let Some(op) = sent {
            let shape = condition.shape.as_ref().expect("pushed conditions have a shape");
            quals.push(planned_qual(shape, *op, &mut exprs));
        }
        if *placement != Placement::Remote {
            local.push(condition.rinfo);
        }
    }
    let sorts = if ordered { state.sorts.clone() } else { Vec::new() };
    let null_split = if ordered { state.decision.null_split.clone() } else { None };
    let (scan_relid, columns, slots, scan_tlist, local_clauses, limit);
    if count {
        // The scan tuple is the count; the plan's tlist refers to it (setrefs matches the aggregate).
        let aggref = only_count_star(tlist).expect("a count path's target has its count(*)");
        let entry = pg_sys::makeTargetEntry(pg_sys::copyObjectImpl(aggref as _) as _, 1, std::ptr::null_mut(), false);
        scan_tlist = make_list([entry]);
        limit = None;
        columns = Vec::new();
        slots = Vec::new();
        scan_relid = 0;
        local_clauses = std::ptr::null_mut();
    } else if upper {
        let parse = (*root).parse;
        let plan_limit = |node: *mut pg_sys::Node, exprs: &mut Exprs| (!node.is_null()).then(|| exprs.plan(node as _));
        limit = Some(PlannedLimit {
            count: plan_limit((*parse).limitCount, &mut exprs),
            offset: plan_limit((*parse).limitOffset, &mut exprs),
        });
        // The scan tuple holds each base column the final target uses, once.
        let vars = pg_sys::pull_var_clause(tlist as _, pg_sys::PVC_RECURSE_PLACEHOLDERS as i32);
        let mut seen: Vec<(usize, *mut pg_sys::Var)> = Vec::new();
        for var in list_ptrs::<pg_sys::Var>(vars) {
            let index = (*var).varattno as usize - 1;
            if !seen.iter().any(|(i, _)| *i == index) {
                seen.push((index, var));
            }
        }
        let entries = seen.iter().enumerate().map(|(position, (_, var))| {
            pg_sys::makeTargetEntry(*var as _, (position + 1) as i16, std::ptr::null_mut(), false)
        });
        scan_tlist = make_list(entries);
        columns = seen.iter().map(|(i, _)| *i).collect::<Vec<_>>();
        slots = (0..columns.len()).collect();
        scan_relid = 0;
        local_clauses = std::ptr::null_mut();
    } else {
        limit = None;
        let mut used = state.columns.clone();
        let all = state.foreign.table.columns.len();
        for rinfo in &clauses {
            if !state.conditions.iter().any(|c| c.rinfo == *rinfo) {
                columns_used((**rinfo).clause as _, (*rel).relid, all, &mut used);
            }
        }
        used.sort_unstable();
        used.dedup();
        used.retain(|&i| !state.foreign.attrs[i].dropped);
        columns = used;
        slots = columns.clone();
        scan_tlist = std::ptr::null_mut();
        scan_relid = (*rel).relid;
        let kept: Vec<*mut pg_sys::RestrictInfo> = clauses
            .iter()
            .copied()
            .filter(|r| !(**r).pseudoconstant && (local.contains(r) || !conditions.iter().any(|c| c.rinfo == *r)))
            .collect();
        local_clauses = pg_sys::extract_actual_clauses(make_list(kept), false);
    }
    let plan = ScanPlan { relid: state.foreign_relid(), upper, columns, slots, quals, sorts, limit, count, null_split };
    let json = serde_json::to_string(&plan).expect("plans serialize");
    let private = make_list([pg_sys::makeString(pstrdup(&json))]);
    pg_sys::make_foreignscan(
        tlist,
        local_clauses,
        scan_relid,
        make_list(exprs.list),
        private,
        scan_tlist,
        std::ptr::null_mut(),
        outer_plan,
    )
}

impl RelState {
    fn foreign_relid(&self) -> u32 {
        self.foreign.relid.to_u32()
    }
}

/// The plan from a ForeignScan's `fdw_private`.
pub unsafe fn scan_plan(private: *mut pg_sys::List) -> ScanPlan {
    let strings = list_ptrs::<pg_sys::String>(private);
    let json = strings.first().map(|s| cstr((**s).sval)).unwrap_or_default();
    serde_json::from_str(&json).unwrap_or_else(|e| raise(Error::internal(format!("corrupt connector_fdw plan: {e}"))))
}
