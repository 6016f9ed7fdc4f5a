//! Small bridges to Postgres internals used across the FDW layer: lists, option lists, SQLSTATEs and
//! error reports. Everything here is `unsafe` glue; the callbacks build on it.

use connector_core::options::OptionMap;
use connector_core::Error;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{CStr, CString};

/// The pointers held by a Postgres `List` of pointers.
///
/// # Safety
/// `list` must be NIL or a valid pointer list whose elements are `*mut T`.
pub unsafe fn list_ptrs<T>(list: *mut pg_sys::List) -> Vec<*mut T> {
    if list.is_null() {
        return Vec::new();
    }
    let len = (*list).length as usize;
    (0..len).map(|i| (*(*list).elements.add(i)).ptr_value as *mut T).collect()
}

/// A Postgres list of the given pointers, allocated in the current memory context.
pub unsafe fn make_list<T>(items: impl IntoIterator<Item = *mut T>) -> *mut pg_sys::List {
    let mut list: *mut pg_sys::List = std::ptr::null_mut();
    for item in items {
        list = pg_sys::lappend(list, item.cast());
    }
    list
}

/// `DefElem` options (as catalogs store them) into a name → value map.
pub unsafe fn options_to_map(list: *mut pg_sys::List) -> OptionMap {
    list_ptrs::<pg_sys::DefElem>(list)
        .into_iter()
        .map(|def| {
            let name = CStr::from_ptr((*def).defname).to_string_lossy().into_owned();
            let value = CStr::from_ptr(pg_sys::defGetString(def)).to_string_lossy().into_owned();
            (name, value)
        })
        .collect()
}

/// The fixed part of a catalog tuple (C's GETSTRUCT).
pub unsafe fn tuple_struct<T>(tuple: pg_sys::HeapTuple) -> *mut T {
    let header = (*tuple).t_data;
    (header as *mut u8).add((*header).t_hoff as usize) as *mut T
}

/// Make the first `natts` attributes of a slot readable (C's inline slot_getsomeattrs).
pub unsafe fn deform_slot(slot: *mut pg_sys::TupleTableSlot, natts: i32) {
    if i32::from((*slot).tts_nvalid) < natts {
        pg_sys::slot_getsomeattrs_int(slot, natts);
    }
}

/// One attribute of a slot (1-based): its datum and whether it is NULL.
pub unsafe fn slot_attr(slot: *mut pg_sys::TupleTableSlot, attno: i32) -> (pg_sys::Datum, bool) {
    deform_slot(slot, attno);
    let index = attno as usize - 1;
    (*(*slot).tts_values.add(index), *(*slot).tts_isnull.add(index))
}

/// A palloc'd C string.
pub fn pstrdup(text: &str) -> *mut std::ffi::c_char {
    let c = CString::new(text.replace('\0', "")).expect("NULs removed");
    // SAFETY: `c` is NUL-terminated and alive for the call; pstrdup copies it into the current memory context.
    unsafe { pg_sys::pstrdup(c.as_ptr()) }
}

pub fn cstr(ptr: *const std::ffi::c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        // SAFETY: `ptr` is not NULL (checked) and callers pass NUL-terminated strings from Postgres.
        unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
    }
}

/// A SQLSTATE like "HV00D" as Postgres' packed error code.
pub fn sqlstate(code: &str) -> PgSqlErrorCode {
    let packed = code
        .bytes()
        .take(5)
        .enumerate()
        .fold(0i32, |acc, (i, ch)| acc | ((((ch as i32) - ('0' as i32)) & 0x3F) << (6 * i)));
    PgSqlErrorCode::from(packed)
}

/// Raise a connector error as a Postgres ERROR with its SQLSTATE, detail and hint.
pub fn raise(error: Error) -> ! {
    let mut report = pg_sys::panic::ErrorReport::new(sqlstate(error.kind.sqlstate()), error.message, "connector_fdw");
    if let Some(detail) = error.detail {
        report = report.set_detail(detail);
    }
    if let Some(hint) = error.hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Unwrap a connector result or raise it as a Postgres ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise(e))
    }
}

/// Block every signal in the calling thread. Runtime threads call this as they start so that Postgres'
/// signal handlers (query cancel, statement_timeout, shutdown) always run on the backend's own thread.
pub fn block_signals_in_this_thread() {
    // SAFETY: a zeroed sigset_t is valid; the calls change only this thread's signal mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

/// The error for a server option a feature needs.
pub fn missing_server_option(server: &connector_core::connectors::ServerDef, name: &str) -> connector_core::Error {
    let connector = server.option("connector").unwrap_or("");
    connector_core::options::missing_option(
        connector_core::options::Scope::Server,
        &connector_core::connectors::connector_context(connector),
        name,
    )
}

/// An identifier quoted as Postgres quotes it (reserved words too), for generated SQL.
pub fn quote_identifier(name: &str) -> String {
    let c = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: `c` is NUL-terminated and outlives the call; the result (`c` itself or palloc'd) is copied at once.
    cstr(unsafe { pg_sys::quote_identifier(c.as_ptr()) })
}

/// A string literal quoted as Postgres quotes it (an E'' literal when it holds backslashes, so it reads the
/// same whatever standard_conforming_strings says), for generated SQL.
pub fn quote_literal(text: &str) -> String {
    let c = std::ffi::CString::new(text.replace('\0', "")).unwrap_or_default();
    // SAFETY: `c` is NUL-terminated and outlives the call; the palloc'd result is copied at once.
    cstr(unsafe { pg_sys::quote_literal_cstr(c.as_ptr()) })
}
