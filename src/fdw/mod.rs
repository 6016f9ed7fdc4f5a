//! The FDW layer: the only code that touches Postgres internals. It reads catalogs into
//! `connector_core` values, plans pushdown, runs scans and reports errors; connectors never see `pg_sys`.
//!
//! Safety: each `unsafe` block says why it is sound in a `// SAFETY:` note (clippy checks there is one).
//! The `unsafe fn`s share one contract, so it is stated here once: call them on the backend's own thread
//! (never from the I/O runtime's threads), inside a transaction, with pointers Postgres handed to the
//! current callback (plan, executor or DDL nodes, valid until it returns) or palloc'd in the current memory
//! context; an FDW callback gets exactly these from Postgres.

#![warn(clippy::undocumented_unsafe_blocks)]

mod cache;
pub mod catalog;
mod clients;
mod compat;
mod credentials;
mod datum;
mod ddl;
pub mod definitions;
mod discovery;
mod exec;
mod modify;
pub mod pg;
mod plan;
mod privileges;
pub mod progress;
mod proxy;
mod push;
pub mod shared;
mod stats;
mod webhook;
mod webhook_worker;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use pgrx::prelude::*;

/// `connector_fdw.pushdown`: off makes Postgres evaluate every condition, sort and limit locally.
pub static PUSHDOWN: GucSetting<bool> = GucSetting::<bool>::new(true);

pub fn init() {
    shared::init();
    progress::init();
    credentials::install_hook();
    GucRegistry::define_bool_guc(
        c"connector_fdw.pushdown",
        c"Push conditions, sorts and limits down to providers.",
        c"When off, connectors receive no conditions and Postgres evaluates everything locally (for diagnosis).",
        &PUSHDOWN,
        GucContext::Userset,
        GucFlags::default(),
    );
    webhook::init();
    cache::init();
}

/// The `pg_finfo_` record that marks a C function as version-1 calling convention.
macro_rules! v1_info {
    ($finfo:ident) => {
        #[no_mangle]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            static INFO: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &INFO
        }
    };
}

v1_info!(pg_finfo_connector_fdw_handler);
v1_info!(pg_finfo_connector_fdw_validator);
v1_info!(pg_finfo_connector_fdw_ddl_check);

unsafe fn arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> pg_sys::Datum {
    (*fcinfo).args.as_slice((*fcinfo).nargs as usize)[n].value
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn connector_fdw_handler(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let routine = pg_sys::palloc0(std::mem::size_of::<pg_sys::FdwRoutine>()) as *mut pg_sys::FdwRoutine;
    (*routine).type_ = pg_sys::NodeTag::T_FdwRoutine;
    (*routine).GetForeignRelSize = Some(plan::get_foreign_rel_size);
    (*routine).GetForeignPaths = Some(plan::get_foreign_paths);
    (*routine).GetForeignPlan = Some(plan::get_foreign_plan);
    (*routine).GetForeignUpperPaths = Some(plan::get_foreign_upper_paths);
    (*routine).BeginForeignScan = Some(exec::begin_foreign_scan);
    (*routine).IterateForeignScan = Some(exec::iterate_foreign_scan);
    (*routine).ReScanForeignScan = Some(exec::rescan_foreign_scan);
    (*routine).EndForeignScan = Some(exec::end_foreign_scan);
    (*routine).ExplainForeignScan = Some(exec::explain_foreign_scan);
    (*routine).AddForeignUpdateTargets = Some(modify::add_foreign_update_targets);
    (*routine).PlanForeignModify = Some(modify::plan_foreign_modify);
    (*routine).BeginForeignModify = Some(modify::begin_foreign_modify);
    (*routine).ExecForeignInsert = Some(modify::exec_foreign_insert);
    (*routine).ExecForeignBatchInsert = Some(modify::exec_foreign_batch_insert);
    (*routine).GetForeignModifyBatchSize = Some(modify::get_foreign_modify_batch_size);
    (*routine).ExecForeignUpdate = Some(modify::exec_foreign_update);
    (*routine).ExecForeignDelete = Some(modify::exec_foreign_delete);
    (*routine).EndForeignModify = Some(modify::end_foreign_modify);
    (*routine).BeginForeignInsert = Some(modify::begin_foreign_insert);
    (*routine).EndForeignInsert = Some(modify::end_foreign_modify);
    (*routine).IsForeignRelUpdatable = Some(modify::is_foreign_rel_updatable);
    (*routine).ExplainForeignModify = Some(modify::explain_foreign_modify);
    (*routine).ImportForeignSchema = Some(discovery::import_foreign_schema);
    pg_sys::Datum::from(routine)
}

/// `connector_fdw_validator(options text[], catalog oid)`: takes raw datums because "no options" arrives
/// as a zero datum that a typed array argument would dereference.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn connector_fdw_validator(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    ddl::validate(arg(fcinfo, 0), pg_sys::Oid::from(arg(fcinfo, 1).value() as u32));
    pg_sys::Datum::from(0)
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn connector_fdw_ddl_check(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    ddl::check_ddl();
    pg_sys::Datum::from(0)
}
