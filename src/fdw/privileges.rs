//! Who may see which metadata, and the few reads the extension makes on its own behalf.
//!
//! The extension's tables carry row-level security (see sql/*.sql): a role sees the sync metadata of the
//! targets it may sync into, the webhook events and statistics of servers it has USAGE on, and the
//! definitions it made or whose servers it may use. Views over shared memory (`stats`, `sync_progress`) are
//! filtered here with the same rules. Loading connector definitions needs all of them whoever asks, so that
//! read runs as the owner of the extension's tables.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::Spi;

/// Whether the current role has USAGE on a foreign server (superusers have it on every one).
pub fn may_use_server(server: pg_sys::Oid) -> bool {
    Spi::get_one_with_args::<bool>("SELECT pg_catalog.has_server_privilege($1, 'USAGE')", &[server.into()])
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Whether the current role may sync into `target` (a schema-qualified table name): the rule of
/// `connector_fdw._may_sync`, which the sync metadata's row-level security uses.
pub fn may_sync(target: &str) -> bool {
    Spi::get_one_with_args::<bool>("SELECT connector_fdw._may_sync($1)", &[target.into()])
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Whether the current role has the privileges of `role` (as for another backend's query text in
/// pg_stat_activity).
pub fn has_privileges_of(role: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups of the current role, on the backend thread in a transaction.
    unsafe { pg_sys::has_privs_of_role(pg_sys::GetUserId(), role) }
}

/// The current role's name.
pub fn current_role_name() -> String {
    // SAFETY: catalog lookups of the current role, on the backend thread in a transaction.
    unsafe { super::pg::cstr(pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false)) }
}

/// Run `body` as the owner of `relation` (one of the extension's tables), which row-level security does
/// not restrict, in a restricted security context; the caller's role is back afterwards, also on error.
/// Only for fixed statements the extension needs whatever the caller may see.
pub fn as_owner_of<R>(relation: &str, body: impl FnOnce() -> R) -> R {
    let owner = Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT relowner FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass($1)",
        &[relation.into()],
    )
    .ok()
    .flatten();
    let Some(owner) = owner else { return body() };
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    // SAFETY: out-pointers to locals; the role and context read here are restored by `finally` below, on error too.
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            owner,
            context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32 | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
        );
    }
    PgTryBuilder::new(std::panic::AssertUnwindSafe(body))
        // SAFETY: restores exactly the role and context read above.
        .finally(|| unsafe { pg_sys::SetUserIdAndSecContext(user, context) })
        .execute()
}
