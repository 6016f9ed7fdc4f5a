//! The webhook listener: a background worker, started by the postmaster when connector_fdw is preloaded and
//! `connector_fdw.webhook_listen` is set, restarted a second after it dies.
//!
//! HTTP runs on a small tokio runtime ([`connector_core::webhooks::listener`]); everything that touches the
//! database runs on the worker's own thread, which takes jobs from the runtime through a bounded queue: look
//! a server up (its options and secret, in a transaction of its own), and store an event (insert, NOTIFY,
//! commit) before the runtime answers the provider. The worker connects to `connector_fdw.webhook_database`
//! as the bootstrap superuser.

use super::webhook;
use connector_core::options::OptionMap;
use connector_core::webhooks::listener::{self, Backend, Endpoint, Resolution, Settings, Stored};
use connector_core::webhooks::{Event, Scheme, SECRET_OPTION};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::spi::Spi;
use std::net::ToSocketAddrs;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Shown as the worker's backend_type in pg_stat_activity.
const WORKER_TYPE: &str = "connector_fdw webhook listener";
/// Jobs waiting for the worker's thread; when full, deliveries are answered 503.
const QUEUE: usize = 64;
/// How often the worker's thread looks at signals while no job comes.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

pub fn register() {
    BackgroundWorkerBuilder::new(WORKER_TYPE)
        .set_library("connector_fdw")
        .set_function("connector_fdw_webhook_main")
        .enable_spi_access()
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
}

enum Job {
    Resolve { server: String, reply: oneshot::Sender<Resolution> },
    Store { server: String, event: Event, reply: oneshot::Sender<Stored> },
}

/// The listener's view of the database: jobs for the worker's thread.
struct Bridge {
    jobs: SyncSender<Job>,
}

#[async_trait::async_trait]
impl Backend for Bridge {
    async fn resolve(&self, server: &str) -> Resolution {
        let (reply, answer) = oneshot::channel();
        if self.jobs.try_send(Job::Resolve { server: server.to_string(), reply }).is_err() {
            return Resolution::Unavailable;
        }
        answer.await.unwrap_or(Resolution::Unavailable)
    }

    async fn store(&self, server: &str, event: Event) -> Stored {
        let (reply, answer) = oneshot::channel();
        if self.jobs.try_send(Job::Store { server: server.to_string(), event, reply }).is_err() {
            return Stored::Failed;
        }
        answer.await.unwrap_or(Stored::Failed)
    }
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn connector_fdw_webhook_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let Some(address) = webhook::listen_address() else { return };
    // A setting that can never work ends the worker for good (exit 0 is not restarted); the log says why.
    if address.to_socket_addrs().map(|mut a| a.next().is_none()).unwrap_or(true) {
        log!("connector_fdw: connector_fdw.webhook_listen = '{address}' is not a host:port address; the webhook listener is off");
        return;
    }
    let database = webhook::database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("connector_fdw webhooks")
        .on_thread_start(super::pg::block_signals_in_this_thread)
        .enable_all()
        .build()
        .unwrap_or_else(|e| error!("connector_fdw webhook listener cannot start its runtime: {e}"));
    let socket = runtime
        .block_on(tokio::net::TcpListener::bind(address.as_str()))
        .unwrap_or_else(|e| error!("connector_fdw webhook listener cannot listen on {address}: {e}"));
    let max_body = Arc::new(AtomicU64::new(webhook::max_body()));
    let settings = Arc::new(Settings {
        max_body: max_body.clone(),
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(10),
        max_connections: 256,
    });
    let (jobs, queue) = sync_channel(QUEUE);
    runtime.spawn(listener::serve(socket, Arc::new(Bridge { jobs }), settings));
    log!("connector_fdw webhook listener on http://{address}/webhooks/<server> for database \"{database}\"");

    serve_jobs(&queue, &max_body);
    // Exit code 1: the postmaster starts the worker again (unless it is shutting down).
    // SAFETY: ends the process; the worker holds no transaction here.
    unsafe { pg_sys::proc_exit(1) };
}

/// Run the runtime's jobs until SIGTERM or the postmaster's death.
fn serve_jobs(queue: &Receiver<Job>, max_body: &AtomicU64) {
    loop {
        if !BackgroundWorker::wait_latch(Some(Duration::ZERO)) {
            return;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: the worker's own thread, between transactions, as Postgres' workers reload their settings.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            max_body.store(webhook::max_body(), Ordering::Relaxed);
        }
        match queue.recv_timeout(SIGNAL_POLL) {
            Ok(Job::Resolve { server, reply }) => {
                let _ = reply.send(resolve(&server));
            }
            Ok(Job::Store { server, event, reply }) => {
                let _ = reply.send(store(&server, event));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// An error raised in a transaction of the worker: its SQLSTATE class and message.
struct Failure {
    data_exception: bool,
    message: String,
}

/// Run `body` in a transaction of its own, committed when it returns; an error rolls it back and is
/// returned, so one bad job does not end the worker.
fn in_transaction<R>(activity: &str, body: impl FnOnce() -> R) -> Result<R, Failure> {
    let activity = std::ffi::CString::new(activity).unwrap_or_default();
    // SAFETY: the worker's own thread, outside any transaction (jobs run one at a time).
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, activity.as_ptr());
    }
    let outcome = PgTryBuilder::new(AssertUnwindSafe(|| {
        let value = body();
        // SAFETY: the transaction and snapshot started above are open (the body returned normally).
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Ok(value)
    }))
    .catch_others(|caught| {
        let report = match caught {
            CaughtError::PostgresError(report) | CaughtError::ErrorReport(report) => report,
            CaughtError::RustPanic { ereport, .. } => ereport,
        };
        // SQLSTATE class 22: data exceptions (a value the database does not take).
        let code = report.sql_error_code() as i32;
        let data_exception = (code & 0x3F) == 2 && ((code >> 6) & 0x3F) == 2;
        Err(Failure { data_exception, message: report.message().to_string() })
    })
    .execute();
    // SAFETY: aborts the transaction started above when the body failed; the reports are plain calls.
    unsafe {
        if outcome.is_err() {
            pg_sys::AbortCurrentTransaction();
        }
        pg_sys::pgstat_report_stat(false);
        pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_IDLE, std::ptr::null());
    }
    outcome
}

fn resolve(server: &str) -> Resolution {
    in_transaction("connector_fdw: looking up a webhook server", || lookup(server)).unwrap_or_else(|failure| {
        warning!("connector_fdw webhook listener cannot look up server \"{server}\": {}", failure.message);
        Resolution::Unavailable
    })
}

fn lookup(server: &str) -> Resolution {
    let installed = Spi::get_one::<bool>("SELECT to_regclass('connector_fdw.webhook_events') IS NOT NULL");
    if installed.ok().flatten() != Some(true) {
        warning!(
            "connector_fdw webhook listener: connector_fdw is not installed in database \"{}\"",
            webhook::database()
        );
        return Resolution::Unavailable;
    }
    let found = Spi::connect(|client| {
        let mut rows = client
            .select(
                "SELECT s.oid, coalesce(s.srvoptions, '{}') FROM pg_foreign_server s
                   JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                  WHERE s.srvname = $1 AND w.fdwhandler = 'connector_fdw.connector_fdw_handler'::regproc",
                None,
                &[server.into()],
            )
            .ok()?;
        let row = rows.next()?;
        Some((row.get::<pg_sys::Oid>(1).ok()??, row.get::<Vec<String>>(2).ok()??))
    });
    let Some((oid, items)) = found else { return Resolution::NotFound };
    let options: OptionMap =
        items.iter().filter_map(|item| item.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let scheme = match Scheme::from_options(&options) {
        Ok(Some(scheme)) => scheme,
        Ok(None) => return Resolution::NotFound,
        Err(e) => {
            warning!("connector_fdw webhook listener: server \"{server}\": {}", e.message);
            return Resolution::Unavailable;
        }
    };
    let Some(stored) = options.get(SECRET_OPTION) else {
        warning!(
            "connector_fdw webhook listener: server \"{server}\" has no webhook secret; set it with connector_fdw.set_webhook_secret()"
        );
        return Resolution::Unavailable;
    };
    let secret = match webhook::open_secret(server, stored) {
        Ok(secret) => secret,
        Err(e) => {
            warning!("connector_fdw webhook listener: the webhook secret of server \"{server}\": {}", e.message);
            return Resolution::Unavailable;
        }
    };
    let counters = super::shared::slot(oid).map(|(_, slot)| &slot.webhooks);
    Resolution::Found(Endpoint { scheme, secret: secret.into_bytes(), counters })
}

fn store(server: &str, event: Event) -> Stored {
    let stored = in_transaction("connector_fdw: storing a webhook event", || {
        let new = Spi::get_one_with_args::<bool>(
            "WITH stored AS (
                INSERT INTO connector_fdw.webhook_events (server, event_id, event_type, payload)
                VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (server, event_id) DO NOTHING RETURNING 1)
             SELECT count(*) > 0 FROM stored",
            &[
                server.into(),
                event.id.as_str().into(),
                event.event_type.as_deref().into(),
                event.payload.as_str().into(),
            ],
        )
        .unwrap_or_else(|e| error!("{e}"))
        .unwrap_or(false);
        if new {
            // Delivered to listening sessions when this transaction commits.
            Spi::run_with_args("SELECT pg_notify('connector_fdw_webhook', $1)", &[server.into()])
                .unwrap_or_else(|e| error!("cannot notify: {e}"));
        }
        new
    });
    match stored {
        Ok(true) => Stored::New,
        Ok(false) => Stored::Duplicate,
        Err(Failure { data_exception: true, message }) => {
            Stored::Refused(format!("the payload cannot be stored as jsonb: {message}"))
        }
        Err(Failure { message, .. }) => {
            warning!(
                "connector_fdw webhook listener: event \"{}\" of server \"{server}\" was not stored: {message}",
                event.id
            );
            Stored::Failed
        }
    }
}
