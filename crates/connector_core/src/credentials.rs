//! Credentials at rest: the key file, and encryption of the secret options of user mappings.
//!
//! The key file (one key per line, the first one current) is created with mode 0600 on first use and read
//! again whenever it changes on disk, so a rotation in one backend reaches the others. Files are written
//! whole to a temporary name and renamed, so a crash never leaves half a key file.

use crate::error::{Error, ErrorKind, Result};
use crate::options::OptionMap;
use crate::secrets::{self, Key, KeyRing};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// User mapping options that hold credentials, whatever the connector.
pub const SECRET_OPTIONS: [&str; 7] =
    ["token", "password", "api_key", "client_secret", "refresh_token", "access_token", "service_account_key"];

pub fn is_secret_option(name: &str) -> bool {
    SECRET_OPTIONS.contains(&name)
}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::PermissionDenied => ErrorKind::InsufficientPrivilege,
        std::io::ErrorKind::NotFound => ErrorKind::FileNotFound,
        _ => ErrorKind::Internal,
    };
    Error::new(kind, format!("cannot {action} the connector_fdw key file \"{}\": {e}", path.display()))
}

/// Write `text` to `path` atomically with mode 0600.
pub fn write_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The key file of a cluster, cached in memory until it changes on disk.
pub struct KeyFile {
    path: PathBuf,
    cached: Mutex<Option<(SystemTime, KeyRing)>>,
}

impl KeyFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KeyFile { path: path.into(), cached: Mutex::new(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key ring, creating the file with a new key if there is none yet.
    pub fn ring(&self) -> Result<KeyRing> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        let modified = match fs::metadata(&self.path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(Error::new(
                        ErrorKind::InsufficientPrivilege,
                        format!("the connector_fdw key file \"{}\" is readable by other users", self.path.display()),
                    )
                    .with_hint("chmod 600 the file: it must be readable by the PostgreSQL server's user only."));
                }
                meta.modified().map_err(|e| io_error("read", &self.path, e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.create()?;
                fs::metadata(&self.path).and_then(|m| m.modified()).map_err(|e| io_error("read", &self.path, e))?
            }
            Err(e) => return Err(io_error("read", &self.path, e)),
        };
        if let Some((seen, ring)) = cached.as_ref() {
            if *seen == modified {
                return Ok(ring.clone());
            }
        }
        let text = fs::read_to_string(&self.path).map_err(|e| io_error("read", &self.path, e))?;
        let ring = KeyRing::parse(&text).map_err(|e| Error {
            message: format!("the connector_fdw key file \"{}\" is not valid: {}", self.path.display(), e.message),
            ..e
        })?;
        *cached = Some((modified, ring.clone()));
        Ok(ring)
    }

    /// Create the file with a new key; if another backend created it meanwhile, keep theirs.
    fn create(&self) -> Result<()> {
        let ring = KeyRing::new(Key::generate());
        let created = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&self.path);
        match created {
            Ok(mut file) => file
                .write_all(ring.to_file_text().as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| io_error("write", &self.path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io_error("create", &self.path, e)),
        }
    }

    /// Make a new current key, keeping the old ones for ciphertext not yet re-encrypted; returns the ring.
    /// A lock file serialises rotations (of any database of the cluster), so none loses another's key.
    pub fn rotate(&self) -> Result<KeyRing> {
        let lock_path = self.path.with_extension("lock");
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| io_error("lock", &lock_path, e))?;
        lock.lock().map_err(|e| io_error("lock", &lock_path, e))?;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let ring = self.ring()?.rotated();
        write_private_file(&self.path, &ring.to_file_text()).map_err(|e| io_error("write", &self.path, e))?;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(ring)
    }
}

/// The options of a user mapping of `server` with every secret value encrypted under the current key and
/// bound to the server and option ([`secrets::binding`]). Values already so are kept; older ones (another
/// key, or unbound `cfdw1`) are re-encrypted. Non-secret options are untouched. A ciphertext bound
/// elsewhere is kept as it is: it fails to decrypt when used.
pub fn encrypt_options(
    ring: &KeyRing,
    server: &str,
    options: &OptionMap,
    is_secret: impl Fn(&str) -> bool,
) -> Result<OptionMap> {
    options
        .iter()
        .map(|(name, value)| {
            if !is_secret(name) {
                return Ok((name.clone(), value.clone()));
            }
            let binding = secrets::binding(server, name);
            let current = ring.current().id();
            let value = match secrets::key_id(value) {
                Some(id) if id == current && secrets::is_bound(value) => value.clone(),
                Some(_) => secrets::encrypt_bound(ring, &decrypt_option(ring, server, name, value)?, &binding),
                None => secrets::encrypt_bound(ring, value, &binding),
            };
            Ok((name.clone(), value))
        })
        .collect()
}

/// Whether any secret option is stored in plaintext, under an older key or unbound.
pub fn needs_encryption(ring: &KeyRing, options: &OptionMap, is_secret: impl Fn(&str) -> bool) -> bool {
    let current = ring.current().id();
    options.iter().any(|(name, value)| {
        is_secret(name) && (secrets::key_id(value) != Some(current.as_str()) || !secrets::is_bound(value))
    })
}

/// The options of a user mapping of `server` with secrets decrypted, for building a client; the error
/// names the option and server, never a value.
pub fn decrypt_options(ring: &KeyRing, server: &str, options: &OptionMap) -> Result<OptionMap> {
    options
        .iter()
        .map(|(name, value)| {
            if secrets::is_ciphertext(value) {
                Ok((name.clone(), decrypt_option(ring, server, name, value)?))
            } else {
                Ok((name.clone(), value.clone()))
            }
        })
        .collect()
}

fn decrypt_option(ring: &KeyRing, server: &str, name: &str, value: &str) -> Result<String> {
    secrets::decrypt_bound(ring, value, &secrets::binding(server, name)).map_err(|e| Error {
        message: format!("user mapping option \"{name}\" of server \"{server}\": {}", e.message),
        ..e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cfdw-cred-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn map(pairs: &[(&str, &str)]) -> OptionMap {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = temp_dir("create");
        let file = KeyFile::new(dir.join("connector_fdw.key"));
        let ring = file.ring().unwrap();
        let mode = fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(KeyFile::new(file.path()).ring().unwrap().current().id(), ring.current().id());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = temp_dir("perm");
        let file = KeyFile::new(dir.join("connector_fdw.key"));
        file.ring().unwrap();
        fs::set_permissions(file.path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(KeyFile::new(file.path()).ring().unwrap_err().kind, ErrorKind::InsufficientPrivilege);
    }

    #[test]
    fn secrets_are_encrypted_and_decrypted_and_others_left_alone() {
        let dir = temp_dir("opts");
        let ring = KeyFile::new(dir.join("k")).ring().unwrap();
        let plain = map(&[("api_key", "sk_live_1"), ("api_key_in", "query"), ("user", "alice")]);
        let stored = encrypt_options(&ring, "crm", &plain, is_secret_option).unwrap();
        assert!(secrets::is_ciphertext(&stored["api_key"]));
        assert_eq!(stored["api_key_in"], "query");
        assert!(!needs_encryption(&ring, &stored, is_secret_option));
        assert!(needs_encryption(&ring, &plain, is_secret_option));
        // Already current ciphertext is kept as is, so a restored dump stays the same.
        assert_eq!(encrypt_options(&ring, "crm", &stored, is_secret_option).unwrap(), stored);
        assert_eq!(decrypt_options(&ring, "crm", &stored).unwrap(), plain);
    }

    #[test]
    fn rotation_reencrypts_and_old_ciphertext_still_decrypts() {
        let dir = temp_dir("rotate");
        let file = KeyFile::new(dir.join("k"));
        let old = file.ring().unwrap();
        let stored = encrypt_options(&old, "crm", &map(&[("token", "t0k")]), is_secret_option).unwrap();
        let new = file.rotate().unwrap();
        assert_ne!(new.current().id(), old.current().id());
        assert_eq!(file.ring().unwrap().current().id(), new.current().id());
        assert!(needs_encryption(&new, &stored, is_secret_option));
        let again = encrypt_options(&new, "crm", &stored, is_secret_option).unwrap();
        assert_eq!(secrets::key_id(&again["token"]), Some(new.current().id().as_str()));
        assert_eq!(decrypt_options(&new, "crm", &stored).unwrap()["token"], "t0k");
        // Unbound values of the older format are bound when re-encrypted.
        let legacy = map(&[("token", &secrets::encrypt(&new, "t0k"))]);
        assert!(needs_encryption(&new, &legacy, is_secret_option));
        let bound = encrypt_options(&new, "crm", &legacy, is_secret_option).unwrap();
        assert!(secrets::is_bound(&bound["token"]));
        assert_eq!(decrypt_options(&new, "crm", &bound).unwrap()["token"], "t0k");
        // A value copied to another server's mapping does not decrypt there, and the error names no value.
        let e = decrypt_options(&new, "files", &bound).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Authorization);
        assert!(e.message.starts_with("user mapping option \"token\" of server \"files\""), "{}", e.message);
        assert!(!format!("{e:?}").contains("t0k"));
    }

    #[test]
    fn a_value_under_a_lost_key_names_the_option_only() {
        let dir = temp_dir("lost");
        let ring = KeyFile::new(dir.join("a")).ring().unwrap();
        let other = KeyFile::new(dir.join("b")).ring().unwrap();
        let stored = encrypt_options(&ring, "crm", &map(&[("password", "hunter2")]), is_secret_option).unwrap();
        let e = decrypt_options(&other, "crm", &stored).unwrap_err();
        assert!(e.message.starts_with("user mapping option \"password\" of server \"crm\": "), "{}", e.message);
        assert!(!e.message.contains("hunter2"));
    }
}
