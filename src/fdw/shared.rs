//! Per-server state shared by every backend: admission (requests in flight, rate limit, the rate limits of
//! single endpoints) and the counters behind `connector_fdw.stats`. It lives in shared memory, so connector_fdw must be in
//! `shared_preload_libraries`; without it each backend limits itself alone and there are no stats.
//!
//! Everything here is atomics, used from the runtime's worker threads as well as the backend: no Postgres
//! function is called from a worker. A backend that exits with requests in flight returns their slots in
//! a `before_shmem_exit` callback; a crash reinitializes shared memory anyway.

use async_trait::async_trait;
use connector_core::http::{Admission, Counters, EndpointGates, EndpointLimit, Gate, HttpSettings, Permit};
use connector_core::webhooks::WebhookCounters;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SLOTS: usize = 256;
const ENDPOINT_SLOTS: usize = 256;

/// One foreign server (of one database).
#[derive(Default)]
pub struct Slot {
    /// `database oid << 32 | server oid`; 0 while free. Slots are never freed, so a key found stays valid.
    key: AtomicU64,
    in_flight: AtomicU32,
    /// CLOCK_MONOTONIC nanoseconds before which no request may start (the rate limit).
    next_start_ns: AtomicU64,
    /// The interval `next_start_ns` was claimed with, so a changed rate limit takes effect at once.
    interval_ns: AtomicU64,
    pub counters: Counters,
    /// Webhook deliveries, counted by the listener (a background worker of the same database).
    pub webhooks: WebhookCounters,
}

/// The rate limit of one endpoint of a server (a table option `rate_limit`).
#[derive(Default)]
struct EndpointSlot {
    /// A hash of (database, server, endpoint), never 0; 0 while free. Never freed.
    key: AtomicU64,
    next_start_ns: AtomicU64,
    interval_ns: AtomicU64,
}

pub struct Servers {
    slots: [Slot; SLOTS],
    endpoints: [EndpointSlot; ENDPOINT_SLOTS],
}

impl Default for Servers {
    fn default() -> Self {
        Servers {
            slots: std::array::from_fn(|_| Slot::default()),
            endpoints: std::array::from_fn(|_| EndpointSlot::default()),
        }
    }
}

// SAFETY: plain atomics, no pointers; valid at the same address in every backend.
unsafe impl PGRXSharedMemory for Servers {}

// SAFETY: a static name; pg_shmem_init! attaches the memory before any backend uses it.
static SERVERS: PgAtomic<Servers> = unsafe { PgAtomic::new(c"connector_fdw servers") };
/// Set in the postmaster when the library is preloaded; backends inherit it.
static AVAILABLE: AtomicBool = AtomicBool::new(false);

/// Request the shared memory; only possible while shared_preload_libraries are loaded.
pub fn init() {
    // SAFETY: a plain global of the postmaster, read in _PG_init.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        pg_shmem_init!(SERVERS);
        AVAILABLE.store(true, Ordering::Relaxed);
    }
}

pub fn available() -> bool {
    AVAILABLE.load(Ordering::Relaxed)
}

fn key(database: pg_sys::Oid, server: pg_sys::Oid) -> u64 {
    (u64::from(database.to_u32()) << 32) | u64::from(server.to_u32())
}

/// The slot of a server of the current database, claimed on first use; `None` without shared memory or
/// when every slot is taken.
pub fn slot(server: pg_sys::Oid) -> Option<(usize, &'static Slot)> {
    if !available() {
        return None;
    }
    register_exit_cleanup();
    // SAFETY: MyDatabaseId is a plain global set at connection; read on the backend thread.
    let wanted = key(unsafe { pg_sys::MyDatabaseId }, server);
    // Every backend scans in the same order, so two claiming the same server meet at the same free slot.
    for (index, slot) in SERVERS.get().slots.iter().enumerate() {
        match slot.key.compare_exchange(0, wanted, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some((index, slot)),
            Err(current) if current == wanted => return Some((index, slot)),
            Err(_) => continue,
        }
    }
    None
}

/// The admission of endpoint limits of a server of the current database: shared by every backend when the
/// library is preloaded (each backend alone otherwise, or when every endpoint slot is taken). The gates are
/// made on runtime worker threads, so the database is read here, in the backend.
pub fn endpoint_gates(server: pg_sys::Oid) -> Option<EndpointGates> {
    if !available() {
        return None;
    }
    // SAFETY: MyDatabaseId is a plain global set at connection; read on the backend thread.
    let server_key = key(unsafe { pg_sys::MyDatabaseId }, server);
    Some(Arc::new(move |limit: &EndpointLimit| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (server_key, limit.endpoint.as_str()).hash(&mut hasher);
        let wanted = hasher.finish() | 1;
        let claimed = SERVERS.get().endpoints.iter().find(|slot| {
            slot.key.compare_exchange(0, wanted, Ordering::AcqRel, Ordering::Acquire).is_ok()
                || slot.key.load(Ordering::Acquire) == wanted
        });
        let interval_ns = (1e9 / limit.rate) as u64;
        match claimed {
            Some(slot) => Arc::new(SharedEndpointGate {
                next_start_ns: &slot.next_start_ns,
                slot_interval_ns: &slot.interval_ns,
                interval_ns,
            }) as Arc<dyn Admission>,
            None => Arc::new(Gate::rate_only(limit.rate)),
        }
    }))
}

/// The slots of the current database's servers, for `connector_fdw.stats`.
pub fn database_slots() -> Vec<(pg_sys::Oid, &'static Slot)> {
    if !available() {
        return Vec::new();
    }
    // SAFETY: MyDatabaseId is a plain global set at connection; read on the backend thread.
    let database = u64::from(unsafe { pg_sys::MyDatabaseId }.to_u32());
    SERVERS
        .get()
        .slots
        .iter()
        .filter_map(|slot| {
            let k = slot.key.load(Ordering::Acquire);
            (k != 0 && k >> 32 == database).then(|| (pg_sys::Oid::from((k & 0xffff_ffff) as u32), slot))
        })
        .collect()
}

impl Slot {
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn reset_counters(&self) {
        let c = &self.counters;
        let w = &self.webhooks;
        for counter in
            [&c.requests, &c.bytes, &c.errors, &c.retries, &c.throttled_us, &c.pages, &c.cache_hits, &c.cache_bytes]
                .into_iter()
                .chain([&w.accepted, &w.rejected])
        {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// Slots this process holds, by slot index, so they can be returned if it exits mid-request.
static HELD: [AtomicU32; SLOTS] = [const { AtomicU32::new(0) }; SLOTS];
/// Guards `HELD` against a permit released while the exit callback returns everything.
static EXITING: Mutex<bool> = Mutex::new(false);
static CLEANUP_REGISTERED: AtomicBool = AtomicBool::new(false);
/// Wakes this process's waiting requests when one of its permits is released; slots freed by other
/// backends are noticed by polling.
static RELEASED: tokio::sync::Notify = tokio::sync::Notify::const_new();
const POLL: Duration = Duration::from_millis(5);

fn register_exit_cleanup() {
    if !CLEANUP_REGISTERED.swap(true, Ordering::Relaxed) {
        // SAFETY: a #[pg_guard] function that lives as long as the process; registered once (the flag).
        unsafe { pg_sys::before_shmem_exit(Some(return_held_slots), pg_sys::Datum::from(0)) };
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn return_held_slots(_code: std::ffi::c_int, _arg: pg_sys::Datum) {
    let mut exiting = EXITING.lock().unwrap_or_else(|p| p.into_inner());
    *exiting = true;
    for (index, held) in HELD.iter().enumerate() {
        let n = held.swap(0, Ordering::AcqRel);
        if n > 0 {
            SERVERS.get().slots[index].in_flight.fetch_sub(n, Ordering::AcqRel);
        }
    }
}

fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC is system-wide, so backends compare the same clock.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Admission through a shared slot: the server's `max_concurrency` and `rate_limit` hold across backends.
pub struct SharedGate {
    index: usize,
    slot: &'static Slot,
    max_concurrency: u32,
    interval_ns: u64,
}

impl SharedGate {
    pub fn new(index: usize, slot: &'static Slot, settings: &HttpSettings) -> Self {
        let interval_ns = settings.rate_limit.filter(|r| *r > 0.0).map_or(0, |r| (1e9 / r) as u64);
        SharedGate { index, slot, max_concurrency: settings.max_concurrency.max(1) as u32, interval_ns }
    }
}

struct SharedPermit {
    index: usize,
    slot: &'static Slot,
}

impl Drop for SharedPermit {
    fn drop(&mut self) {
        let exiting = EXITING.lock().unwrap_or_else(|p| p.into_inner());
        if !*exiting {
            HELD[self.index].fetch_sub(1, Ordering::AcqRel);
            self.slot.in_flight.fetch_sub(1, Ordering::AcqRel);
            RELEASED.notify_waiters();
        }
    }
}

#[async_trait]
impl Admission for SharedGate {
    async fn enter(&self) -> (Permit, Duration) {
        let waiting = Instant::now();
        loop {
            // Registered before the check, so a release between check and wait is not missed.
            let released = RELEASED.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let current = self.slot.in_flight.load(Ordering::Acquire);
            if current < self.max_concurrency {
                if self
                    .slot
                    .in_flight
                    .compare_exchange(current, current + 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = released => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        HELD[self.index].fetch_add(1, Ordering::AcqRel);
        let permit = Permit::new(SharedPermit { index: self.index, slot: self.slot });
        if self.interval_ns > 0 {
            wait_for_start(&self.slot.next_start_ns, &self.slot.interval_ns, self.interval_ns).await;
        }
        (permit, waiting.elapsed())
    }
}

/// GCRA: claim the next start time of a shared rate limit (the claim is ours once the swap succeeds), then
/// wait for it. A rate limit changed since the last claim (`slot_interval_ns`, what every backend last
/// used) first brings the next start within one new interval, so requests claimed at a far lower rate do not
/// hold back those of the new one. A waiter cancelled before its start gives the start back, unless a
/// later one was claimed meanwhile.
async fn wait_for_start(next_start_ns: &AtomicU64, slot_interval_ns: &AtomicU64, interval_ns: u64) {
    if slot_interval_ns.swap(interval_ns, Ordering::AcqRel) != interval_ns {
        let bound = monotonic_ns().saturating_add(interval_ns);
        next_start_ns.fetch_min(bound, Ordering::AcqRel);
    }
    let (start, wait) = loop {
        let now = monotonic_ns();
        let next = next_start_ns.load(Ordering::Acquire);
        let start = next.max(now);
        if next_start_ns
            .compare_exchange(next, start.saturating_add(interval_ns), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            break (start, Duration::from_nanos(start - now));
        }
    };
    if !wait.is_zero() {
        let give_back = scopeguard::guard((), |()| {
            let _ = next_start_ns.compare_exchange(
                start.saturating_add(interval_ns),
                start,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        });
        tokio::time::sleep(wait).await;
        scopeguard::ScopeGuard::into_inner(give_back);
    }
}

/// The rate limit of one endpoint, across backends; the server's gate bounds the requests in flight.
struct SharedEndpointGate {
    next_start_ns: &'static AtomicU64,
    slot_interval_ns: &'static AtomicU64,
    interval_ns: u64,
}

#[async_trait]
impl Admission for SharedEndpointGate {
    async fn enter(&self) -> (Permit, Duration) {
        let waiting = Instant::now();
        wait_for_start(self.next_start_ns, self.slot_interval_ns, self.interval_ns).await;
        (Permit::new(()), waiting.elapsed())
    }
}
