//! The Postgres internals that changed between 15 and 18, behind one signature each, so the callbacks
//! build unchanged for every supported major version (`--features pg15` or `pg18`).

use pgrx::pg_sys;
use std::ptr::null_mut;

/// Attribute `i` of a tuple descriptor (C's `TupleDescAttr`). From 18 the attributes follow an array of
/// compact attributes instead of being the descriptor's own trailing array.
pub unsafe fn tuple_desc_attr(desc: pg_sys::TupleDesc, i: usize) -> *mut pg_sys::FormData_pg_attribute {
    #[cfg(feature = "pg18")]
    {
        let compact = (*desc).compact_attrs.as_ptr().add((*desc).natts as usize);
        (compact as *mut pg_sys::FormData_pg_attribute).add(i)
    }
    #[cfg(not(feature = "pg18"))]
    {
        (*desc).attrs.as_ptr().add(i) as *mut _
    }
}

/// This backend's local transaction id (17 moved it into `PGPROC.vxid`).
pub unsafe fn local_transaction_id() -> pg_sys::LocalTransactionId {
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    {
        (*pg_sys::MyProc).vxid.lxid
    }
    #[cfg(not(any(feature = "pg17", feature = "pg18")))]
    {
        (*pg_sys::MyProc).lxid
    }
}

/// Whether a btree path key sorts descending; `None` for a strategy that is neither < nor > (18 replaced
/// the strategy number by a comparison type).
pub unsafe fn pathkey_descending(pathkey: *mut pg_sys::PathKey) -> Option<bool> {
    #[cfg(feature = "pg18")]
    {
        match (*pathkey).pk_cmptype {
            pg_sys::CompareType::COMPARE_LT => Some(false),
            pg_sys::CompareType::COMPARE_GT => Some(true),
            _ => None,
        }
    }
    #[cfg(not(feature = "pg18"))]
    {
        match (*pathkey).pk_strategy as u32 {
            pg_sys::BTLessStrategyNumber => Some(false),
            pg_sys::BTGreaterStrategyNumber => Some(true),
            _ => None,
        }
    }
}

/// A foreign scan path, parameterized by `required_outer` (NULL for none), with no outer plan or private
/// data (17 added `fdw_restrictinfo`, 18 `disabled_nodes`).
pub unsafe fn create_foreignscan_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup_cost: f64,
    total_cost: f64,
    pathkeys: *mut pg_sys::List,
    required_outer: pg_sys::Relids,
) -> *mut pg_sys::ForeignPath {
    #[cfg(feature = "pg18")]
    return pg_sys::create_foreignscan_path(
        root,
        rel,
        null_mut(),
        rows,
        0,
        startup_cost,
        total_cost,
        pathkeys,
        required_outer,
        null_mut(),
        null_mut(),
        null_mut(),
    );
    #[cfg(feature = "pg17")]
    return pg_sys::create_foreignscan_path(
        root,
        rel,
        null_mut(),
        rows,
        startup_cost,
        total_cost,
        pathkeys,
        required_outer,
        null_mut(),
        null_mut(),
        null_mut(),
    );
    #[cfg(not(any(feature = "pg17", feature = "pg18")))]
    return pg_sys::create_foreignscan_path(
        root,
        rel,
        null_mut(),
        rows,
        startup_cost,
        total_cost,
        pathkeys,
        required_outer,
        null_mut(),
        null_mut(),
    );
}

/// A foreign upper path (LIMIT pushed down) with no outer plan or private data.
pub unsafe fn create_foreign_upper_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    target: *mut pg_sys::PathTarget,
    rows: f64,
    startup_cost: f64,
    total_cost: f64,
    pathkeys: *mut pg_sys::List,
) -> *mut pg_sys::ForeignPath {
    #[cfg(feature = "pg18")]
    return pg_sys::create_foreign_upper_path(
        root,
        rel,
        target,
        rows,
        0,
        startup_cost,
        total_cost,
        pathkeys,
        null_mut(),
        null_mut(),
        null_mut(),
    );
    #[cfg(feature = "pg17")]
    return pg_sys::create_foreign_upper_path(
        root,
        rel,
        target,
        rows,
        startup_cost,
        total_cost,
        pathkeys,
        null_mut(),
        null_mut(),
        null_mut(),
    );
    #[cfg(not(any(feature = "pg17", feature = "pg18")))]
    return pg_sys::create_foreign_upper_path(
        root,
        rel,
        target,
        rows,
        startup_cost,
        total_cost,
        pathkeys,
        null_mut(),
        null_mut(),
    );
}

/// The role a foreign scan checks permissions as (a view's owner), or `InvalidOid` for the current user.
/// From 16 the planner stores it in the plan; before, it is on the range table entry.
pub unsafe fn scan_check_as_user(node: *mut pg_sys::ForeignScanState) -> pg_sys::Oid {
    let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    #[cfg(any(feature = "pg16", feature = "pg17", feature = "pg18"))]
    {
        (*plan).checkAsUser
    }
    #[cfg(not(any(feature = "pg16", feature = "pg17", feature = "pg18")))]
    {
        let rtindex = if (*plan).scan.scanrelid > 0 {
            (*plan).scan.scanrelid as i32
        } else {
            pg_sys::bms_next_member((*plan).fs_relids, -1)
        };
        (*pg_sys::exec_rt_fetch(rtindex as u32, (*node).ss.ps.state)).checkAsUser
    }
}

/// The role a modify of a result relation runs as: the view owner's for views, else the current user.
pub unsafe fn result_rel_user(rinfo: *mut pg_sys::ResultRelInfo, estate: *mut pg_sys::EState) -> pg_sys::Oid {
    #[cfg(any(feature = "pg16", feature = "pg17", feature = "pg18"))]
    {
        pg_sys::ExecGetResultRelCheckAsUser(rinfo, estate)
    }
    #[cfg(not(any(feature = "pg16", feature = "pg17", feature = "pg18")))]
    {
        let rte = pg_sys::exec_rt_fetch((*rinfo).ri_RangeTableIndex, estate);
        if (*rte).checkAsUser != pg_sys::InvalidOid {
            (*rte).checkAsUser
        } else {
            pg_sys::GetUserId()
        }
    }
}

/// Whether the current user has USAGE on a foreign server (16 folded the per-kind checks into one).
pub unsafe fn server_usage_granted(server: pg_sys::Oid) -> bool {
    let (user, mode) = (pg_sys::GetUserId(), pg_sys::ACL_USAGE as pg_sys::AclMode);
    #[cfg(any(feature = "pg16", feature = "pg17", feature = "pg18"))]
    let result = pg_sys::object_aclcheck(pg_sys::ForeignServerRelationId, server, user, mode);
    #[cfg(not(any(feature = "pg16", feature = "pg17", feature = "pg18")))]
    let result = pg_sys::pg_foreign_server_aclcheck(server, user, mode);
    result == pg_sys::AclResult::ACLCHECK_OK
}
