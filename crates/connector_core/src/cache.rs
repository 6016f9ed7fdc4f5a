//! The response cache: whole 2xx responses of read requests, kept as files so every backend and session
//! of the cluster shares them (see the README's "Response cache" section for why files).
//!
//! Layout: `<root>/<database>/<server>/<key>`, where `key` is the SHA-256 of the identity that made the
//! request (role and user mapping, never a credential) and the request itself (method, URL, headers,
//! body). A file holds one JSON header line (URL, status, headers, expiry) and the body. Files are
//! written under a temporary name and renamed, so a reader never sees half an entry; a hit touches the
//! file's mtime, which orders eviction (least recently used first).

use crate::error::{Error, ErrorKind, Result};
use crate::http::Request;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a server's entries live and who reads them: one per HTTP client (server and role).
#[derive(Debug)]
pub struct ResponseCache {
    /// The cache's root, shared by the whole cluster.
    root: PathBuf,
    /// This server's directory under the root.
    dir: PathBuf,
    /// The role and user mapping whose credentials make the requests: part of every key.
    identity: String,
    /// Entry lifetime when the table does not set its own; zero: the server does not cache.
    pub server_ttl: Duration,
    /// Upper bound of the whole cache's size, in bytes.
    max_bytes: u64,
    /// Bytes this process wrote since it last measured the whole cache.
    written: Arc<AtomicU64>,
}

/// A cached response, as read back.
pub struct Cached {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

#[derive(Serialize, Deserialize)]
struct EntryHeader {
    method: String,
    url: String,
    status: u16,
    /// Seconds since the Unix epoch when the response arrived: its age decides, with the reader's TTL (so a
    /// shorter `cache_ttl` set later applies to entries already kept).
    stored: u64,
    headers: Vec<(String, String)>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Internal, format!("response cache: cannot {what} \"{}\": {e}", path.display()))
}

impl ResponseCache {
    /// `root`: the cluster's cache directory; `database`/`server`: where this server's entries go;
    /// `identity`: who asks (never a credential).
    pub fn new(
        root: PathBuf,
        database: u32,
        server: u32,
        identity: String,
        server_ttl: Duration,
        max_bytes: u64,
    ) -> Self {
        let dir = root.join(database.to_string()).join(server.to_string());
        ResponseCache { root, dir, identity, server_ttl, max_bytes, written: Arc::default() }
    }

    /// The directory of one server's entries (for `cache_clear`).
    pub fn server_dir(root: &Path, database: u32, server: u32) -> PathBuf {
        root.join(database.to_string()).join(server.to_string())
    }

    fn key(&self, req: &Request) -> String {
        let mut hash = Sha256::new();
        for part in [self.identity.as_bytes(), req.method.as_str().as_bytes(), req.url.as_str().as_bytes()] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        for (name, value) in &req.headers {
            hash.update((name.len() as u64).to_le_bytes());
            hash.update(name.as_bytes());
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value.as_bytes());
        }
        let body = req.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
        hash.update([u8::from(req.form)]);
        hash.update(body.as_bytes());
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The entry for `req` if it is younger than `ttl`. A stale or unreadable entry is a miss (and removed).
    pub fn get(&self, req: &Request, ttl: Duration) -> Option<Cached> {
        let path = self.dir.join(self.key(req));
        let mut file = fs::File::open(&path).ok()?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).ok()?;
        let split = data.iter().position(|&b| b == b'\n')?;
        let header: EntryHeader = match serde_json::from_slice(&data[..split]) {
            Ok(header) => header,
            Err(_) => {
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        // The key is a hash: the header must name the same request, or it is another's entry.
        if header.stored.saturating_add(ttl.as_secs()) <= now()
            || header.url != req.url.as_str()
            || header.method != req.method.as_str()
        {
            let _ = fs::remove_file(&path);
            return None;
        }
        // Recently used entries are evicted last.
        let _ = file.set_modified(SystemTime::now());
        let mut headers = HeaderMap::new();
        for (name, value) in header.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                headers.append(name, value);
            }
        }
        let body = bytes::Bytes::from(data).slice(split + 1..);
        Some(Cached { status: header.status, headers, body })
    }

    /// Keep a complete 2xx response to `req` for `ttl`. A cache that cannot be written is skipped: it never
    /// fails the query.
    pub fn put(&self, req: &Request, status: u16, headers: &HeaderMap, body: &[u8], ttl: Duration) {
        if ttl.is_zero() || body.len() as u64 > self.max_bytes / 4 {
            return;
        }
        let header = EntryHeader {
            method: req.method.to_string(),
            url: req.url.to_string(),
            status,
            stored: now(),
            headers: headers
                .iter()
                .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_string(), v.to_string())))
                .collect(),
        };
        let Ok(line) = serde_json::to_vec(&header) else { return };
        if self.write_entry(&self.key(req), &line, body).is_err() {
            return;
        }
        let total = self.written.fetch_add((line.len() + body.len()) as u64, Ordering::Relaxed);
        // Measuring the whole cache is a directory walk: done when this process has written a sixteenth of
        // the limit since it last looked, so the cache exceeds its bound by at most that much per backend.
        if total >= self.max_bytes / 16 {
            self.written.store(0, Ordering::Relaxed);
            evict(&self.root, self.max_bytes);
        }
    }

    fn write_entry(&self, key: &str, header: &[u8], body: &[u8]) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let temporary = self.dir.join(format!(".{key}.{}.{}", std::process::id(), rand::random::<u32>()));
        let written = (|| {
            // Only the cluster's owner reads cached provider data, like the rest of its data directory.
            let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
            file.write_all(header)?;
            file.write_all(b"\n")?;
            file.write_all(body)?;
            fs::rename(&temporary, self.dir.join(key))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }

    /// Drop every entry of this server, whoever made it: a write may change what any read answers.
    pub fn invalidate(&self) -> Result<u64> {
        clear_dir(&self.dir)
    }
}

/// Remove every entry under `dir` (a server's directory, or a database's); the number removed.
pub fn clear_dir(dir: &Path) -> Result<u64> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_error("read", dir, e)),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            removed += clear_dir(&path)?;
        } else {
            match fs::remove_file(&path) {
                Ok(()) => removed += u64::from(!entry.file_name().to_string_lossy().starts_with('.')),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("remove", &path, e)),
            }
        }
    }
    Ok(removed)
}

/// Bring the cache under `root` back below `max_bytes` (to 7/8 of it, so eviction is not run at every
/// write), least recently used entries first.
pub fn evict(root: &Path, max_bytes: u64) {
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                total += meta.len();
                files.push((meta.modified().unwrap_or(UNIX_EPOCH), meta.len(), entry.path()));
            }
        }
    }
    if total <= max_bytes {
        return;
    }
    files.sort();
    let target = max_bytes / 8 * 7;
    for (_, len, path) in files {
        if total <= target {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// Bytes held by the cache under `root`.
pub fn size(root: &Path) -> u64 {
    let mut total = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => dirs.push(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;
    use url::Url;

    const MINUTE: Duration = Duration::from_secs(60);

    fn cache(root: &Path, identity: &str, max: u64) -> ResponseCache {
        ResponseCache::new(root.to_path_buf(), 1, 2, identity.into(), Duration::from_secs(60), max)
    }

    fn get(url: &str) -> Request {
        Request::get(Url::parse(url).unwrap())
    }

    fn temp_root() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cfdw-cache-{}-{}", std::process::id(), rand::random::<u64>()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_entry_answers_the_same_request_of_the_same_identity_only() {
        let root = temp_root();
        let alice = cache(&root, "role 10 mapping 20", 1 << 20);
        let bob = cache(&root, "role 11 mapping 21", 1 << 20);
        let mut headers = HeaderMap::new();
        headers.insert("x-total-count", HeaderValue::from_static("3"));
        alice.put(&get("http://h/c?page=1"), 200, &headers, b"[1,2,3]", Duration::from_secs(60));
        let hit = alice.get(&get("http://h/c?page=1"), MINUTE).expect("a hit");
        assert_eq!((hit.status, &hit.body[..]), (200, &b"[1,2,3]"[..]));
        assert_eq!(hit.headers.get("x-total-count").unwrap(), "3");
        assert!(alice.get(&get("http://h/c?page=2"), MINUTE).is_none(), "another URL");
        assert!(bob.get(&get("http://h/c?page=1"), MINUTE).is_none(), "another identity");
        let post =
            Request::new(Method::POST, Url::parse("http://h/c?page=1").unwrap()).json(serde_json::json!({"a": 1}));
        assert!(alice.get(&post, MINUTE).is_none(), "another method and body");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn entries_are_private_files_without_credentials() {
        let root = temp_root();
        let c = cache(&root, "role 10 mapping 20", 1 << 20);
        c.put(&get("http://h/c").header("X-Trace", "t"), 200, &HeaderMap::new(), b"{}", Duration::from_secs(60));
        let file = fs::read_dir(root.join("1/2")).unwrap().next().unwrap().unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!String::from_utf8_lossy(&fs::read(file.path()).unwrap()).contains("role 10"));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn stale_entries_and_invalidated_servers_miss() {
        let root = temp_root();
        let c = cache(&root, "r", 1 << 20);
        c.put(&get("http://h/a"), 200, &HeaderMap::new(), b"a", Duration::from_secs(60));
        // Freshness is the reader's: a TTL of zero seconds finds nothing young enough.
        assert!(c.get(&get("http://h/a"), Duration::ZERO).is_none());
        c.put(&get("http://h/a"), 200, &HeaderMap::new(), b"a", Duration::from_secs(60));
        c.put(&get("http://h/b"), 200, &HeaderMap::new(), b"b", Duration::from_secs(60));
        // An entry past its expiry, as a later clock would see it.
        let path = c.dir.join(c.key(&get("http://h/b")));
        let text = fs::read_to_string(&path).unwrap();
        let (line, body) = text.split_once('\n').unwrap();
        let mut header: serde_json::Value = serde_json::from_str(line).unwrap();
        header["stored"] = 1.into();
        fs::write(&path, format!("{header}\n{body}")).unwrap();
        assert!(c.get(&get("http://h/b"), MINUTE).is_none());
        assert!(!path.exists(), "a stale entry is removed");
        assert_eq!(c.invalidate().unwrap(), 1);
        assert!(c.get(&get("http://h/a"), MINUTE).is_none());
        assert_eq!(c.invalidate().unwrap(), 0);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_client_serves_reads_from_the_cache_and_writes_drop_it() {
        use crate::http::{Auth, CachePolicy, Counters, Http, HttpSettings};
        let root = temp_root();
        let mock = mockapi::MockServer::start_blocking();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http = Http::new(HttpSettings::default(), Auth::None, vec![]).unwrap().with_cache(ResponseCache::new(
            root.clone(),
            1,
            2,
            "r".into(),
            Duration::from_secs(60),
            1 << 20,
        ));
        let list = get(&format!("{}/n/5/plain/customers", mock.url()));
        let scan = Counters::default();
        runtime.block_on(async {
            let (_, first) = http.send_json(&list, &scan).await.unwrap();
            let (_, again) = http.send_json(&list, &scan).await.unwrap();
            assert_eq!(first, again);
            assert_eq!(mock.request_count(), 1, "the second read is a hit");
            assert_eq!(scan.snapshot().cache_hits, 1);
            assert_eq!(http.counters.snapshot().cache_hits, 1);
            // A scan that must read fresh asks the provider, and keeps the answer.
            let fresh = Counters { cache: CachePolicy { ttl: None, refresh: true }, ..Counters::default() };
            http.send(&list, &fresh).await.unwrap();
            assert_eq!(mock.request_count(), 2);
            // A table's cache_ttl 0 turns the cache off for its scans.
            let off =
                Counters { cache: CachePolicy { ttl: Some(Duration::ZERO), refresh: false }, ..Counters::default() };
            http.send(&list, &off).await.unwrap();
            assert_eq!(mock.request_count(), 3);
            // A write drops the server's entries, even when the provider refuses it.
            let write = Request::new(Method::POST, Url::parse(&format!("{}/nope", mock.url())).unwrap())
                .json(serde_json::json!({}));
            assert!(http.send(&write, &scan).await.is_err());
            http.send(&list, &scan).await.unwrap();
            assert_eq!(mock.request_count(), 5, "after the write, the read goes to the provider");
        });
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_full_cache_evicts_least_recently_used_entries() {
        let root = temp_root();
        let c = cache(&root, "r", 64 * 1024);
        let body = vec![b'x'; 4000];
        for i in 0..40 {
            c.put(&get(&format!("http://h/{i}")), 200, &HeaderMap::new(), &body, Duration::from_secs(60));
            // Entry 0 is read after every write: the most recently used, it stays.
            assert!(c.get(&get("http://h/0"), MINUTE).is_some(), "entry 0 evicted after write {i}");
        }
        evict(&root, 64 * 1024);
        assert!(size(&root) <= 64 * 1024);
        assert!(c.get(&get("http://h/1"), MINUTE).is_none(), "the oldest unused entry went first");
        assert!(c.get(&get("http://h/39"), MINUTE).is_some());
        fs::remove_dir_all(root).unwrap();
    }
}
