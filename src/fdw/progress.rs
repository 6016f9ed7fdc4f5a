//! Progress of running syncs (`connector_fdw.sync_progress`, like pg_stat_progress_copy) and this
//! backend's request count (each sync run's `requests`).
//!
//! A sync claims a slot in shared memory for its backend; scans add their rows, pages and requests to it
//! while it is active. The slot is released when the transaction ends, also when it aborts or is
//! cancelled, so no finished run lingers in the view.

use super::pg::raise;
use super::privileges::{has_privileges_of, may_sync};
use super::shared;
use connector_core::{Error, ErrorKind};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

const SLOTS: usize = 64;
const NAME_WORDS: usize = 16;

#[derive(Default)]
struct Slot {
    /// The backend running the sync; 0 when free. Written last on claim, so readers see a filled slot.
    pid: AtomicI32,
    /// The role running the sync.
    role: AtomicU32,
    source: AtomicU32,
    /// The target's name, up to 128 bytes, packed (written before `pid`).
    target: [AtomicU64; NAME_WORDS],
    started_us: AtomicI64,
    rows: AtomicU64,
    pages: AtomicU64,
    requests: AtomicU64,
}

pub struct Progress {
    slots: [Slot; SLOTS],
}

impl Default for Progress {
    fn default() -> Self {
        Progress { slots: std::array::from_fn(|_| Slot::default()) }
    }
}

// SAFETY: plain atomics, valid at the same address in every backend.
unsafe impl PGRXSharedMemory for Progress {}

// SAFETY: a static name; pg_shmem_init! attaches the memory before any backend uses it.
static PROGRESS: PgAtomic<Progress> = unsafe { PgAtomic::new(c"connector_fdw sync progress") };
/// This backend's slot, plus one; 0 when no sync runs here.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Requests this backend's scans have made, for the requests of one sync run.
static BACKEND_REQUESTS: AtomicU64 = AtomicU64::new(0);
static CALLBACK_REGISTERED: AtomicBool = AtomicBool::new(false);

pub fn init() {
    // SAFETY: a plain global of the postmaster, read in _PG_init.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        pg_shmem_init!(PROGRESS);
    }
}

fn active_slot() -> Option<&'static Slot> {
    match ACTIVE.load(Ordering::Relaxed) {
        0 => None,
        n => Some(&PROGRESS.get().slots[n - 1]),
    }
}

/// A scan delivered `rows` rows.
pub fn add_rows(rows: u64) {
    if let Some(slot) = active_slot() {
        slot.rows.fetch_add(rows, Ordering::Relaxed);
    }
}

/// A scan received a page, having made `requests` more requests since it last said.
pub fn add_page(requests: u64) {
    BACKEND_REQUESTS.fetch_add(requests, Ordering::Relaxed);
    if let Some(slot) = active_slot() {
        slot.pages.fetch_add(1, Ordering::Relaxed);
        slot.requests.fetch_add(requests, Ordering::Relaxed);
    }
}

/// Requests made after the last page of a scan (retries, an empty last page).
pub fn add_requests(requests: u64) {
    BACKEND_REQUESTS.fetch_add(requests, Ordering::Relaxed);
    if let Some(slot) = active_slot() {
        slot.requests.fetch_add(requests, Ordering::Relaxed);
    }
}

fn release() {
    if let Some(slot) = active_slot() {
        slot.pid.store(0, Ordering::Release);
    }
    ACTIVE.store(0, Ordering::Relaxed);
}

#[pg_guard]
unsafe extern "C-unwind" fn at_transaction_end(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    if matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PREPARE
    ) {
        release();
    }
}

/// Claim a progress slot for a sync of `source` into `target` in this backend.
#[pg_extern(name = "_sync_begin")]
pub fn sync_begin(source: pg_sys::Oid, target: &str) {
    release();
    if !shared::available() {
        return;
    }
    if !CALLBACK_REGISTERED.swap(true, Ordering::Relaxed) {
        // SAFETY: a #[pg_guard] function that lives as long as the process; registered once (the flag above).
        unsafe { pg_sys::RegisterXactCallback(Some(at_transaction_end), std::ptr::null_mut()) };
    }
    // SAFETY: MyProcPid is a plain global set at backend start.
    let pid = unsafe { pg_sys::MyProcPid };
    for (index, slot) in PROGRESS.get().slots.iter().enumerate() {
        if slot.pid.load(Ordering::Acquire) != 0 {
            continue;
        }
        // Claimed with a placeholder, filled, then published with the real pid.
        if slot.pid.compare_exchange(0, -1, Ordering::AcqRel, Ordering::Acquire).is_err() {
            continue;
        }
        // SAFETY: GetUserId reads a backend global.
        slot.role.store(unsafe { pg_sys::GetUserId() }.to_u32(), Ordering::Relaxed);
        slot.source.store(source.to_u32(), Ordering::Relaxed);
        let bytes = target.as_bytes();
        for (i, word) in slot.target.iter().enumerate() {
            let mut chunk = [0u8; 8];
            for (j, b) in chunk.iter_mut().enumerate() {
                *b = bytes.get(i * 8 + j).copied().unwrap_or(0);
            }
            word.store(u64::from_le_bytes(chunk), Ordering::Relaxed);
        }
        // SAFETY: GetCurrentTimestamp only reads the clock.
        slot.started_us.store(unsafe { pg_sys::GetCurrentTimestamp() }, Ordering::Relaxed);
        for counter in [&slot.rows, &slot.pages, &slot.requests] {
            counter.store(0, Ordering::Relaxed);
        }
        slot.pid.store(pid, Ordering::Release);
        ACTIVE.store(index + 1, Ordering::Relaxed);
        return;
    }
}

/// Release this backend's progress slot.
#[pg_extern(name = "_sync_end")]
pub fn sync_end() {
    release();
}

/// Requests this backend's scans have made so far.
#[pg_extern(name = "_backend_requests")]
pub fn backend_requests() -> i64 {
    BACKEND_REQUESTS.load(Ordering::Relaxed) as i64
}

/// Running syncs, one row each: those of roles whose privileges the current role has, or into targets it
/// may sync into (superusers see all).
#[pg_extern(name = "sync_progress_info")]
#[allow(clippy::type_complexity)]
pub fn sync_progress_info() -> TableIterator<
    'static,
    (
        name!(pid, i32),
        name!(source, pg_sys::Oid),
        name!(target, String),
        name!(started_at, pgrx::datum::TimestampWithTimeZone),
        name!(rows_fetched, i64),
        name!(pages, i64),
        name!(requests, i64),
    ),
> {
    if !shared::available() {
        raise(
            Error::new(
                ErrorKind::NotSupported,
                "connector_fdw.sync_progress needs connector_fdw in shared_preload_libraries",
            )
            .with_hint("Add connector_fdw to shared_preload_libraries in postgresql.conf and restart PostgreSQL."),
        );
    }
    let rows: Vec<_> = PROGRESS
        .get()
        .slots
        .iter()
        .filter_map(|slot| {
            let pid = slot.pid.load(Ordering::Acquire);
            if pid <= 0 {
                return None;
            }
            let bytes: Vec<u8> = slot
                .target
                .iter()
                .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
                .take_while(|b| *b != 0)
                .collect();
            // SAFETY: the value is the TimestampTz (an i64, by value, never NULL) stored by sync_begin.
            let started = unsafe {
                pgrx::datum::TimestampWithTimeZone::from_datum(
                    pg_sys::Datum::from(slot.started_us.load(Ordering::Relaxed)),
                    false,
                )
            }?;
            let target = String::from_utf8_lossy(&bytes).into_owned();
            let role = pg_sys::Oid::from(slot.role.load(Ordering::Relaxed));
            if !has_privileges_of(role) && !may_sync(&target) {
                return None;
            }
            Some((
                pid,
                pg_sys::Oid::from(slot.source.load(Ordering::Relaxed)),
                target,
                started,
                slot.rows.load(Ordering::Relaxed) as i64,
                slot.pages.load(Ordering::Relaxed) as i64,
                slot.requests.load(Ordering::Relaxed) as i64,
            ))
        })
        .collect();
    TableIterator::new(rows)
}
