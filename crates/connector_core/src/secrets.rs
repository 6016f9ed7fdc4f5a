//! Encryption of credentials stored in user mappings, so that a catalog dump or a `pg_user_mappings` read
//! by a superuser-turned-reader does not reveal them.
//!
//! A value is `cfdw1:<key_id>:<base64url(nonce || ciphertext || tag)>`: AES-256-GCM with a fresh random
//! 96-bit nonce. The key id (the first 4 bytes of SHA-256 of the key, in hex) names the key that encrypted
//! the value, so a [`KeyRing`] can hold old keys after a rotation and decrypt old values until they are
//! re-encrypted. `cfdw1:<key_id>` is authenticated as associated data, so neither the version nor the key
//! id can be altered without decryption failing.

use crate::error::{Error, ErrorKind, Result};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// The format's version tag, the first field of every ciphertext.
const VERSION: &str = "cfdw1";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Base64 as people paste it: padded or not.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 256-bit key. Debug shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; KEY_LEN],
}

impl Key {
    /// A new random key. ThreadRng is a CSPRNG seeded from the operating system.
    pub fn generate() -> Key {
        let mut bytes = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Key { bytes }
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key { bytes }
    }

    /// 8 hex characters naming this key in ciphertexts and key files.
    pub fn id(&self) -> String {
        hex(&Sha256::digest(self.bytes)[..4])
    }

    /// A key written as 64 hex characters or as base64 (standard or URL-safe, padded or not). Errors never
    /// quote the text: it may be a key with a typo.
    pub fn parse(text: &str) -> Result<Key> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            unhex(text)
        } else {
            LENIENT_STANDARD.decode(text).or_else(|_| LENIENT_URL_SAFE.decode(text)).ok()
        };
        let bytes = bytes.and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok()).ok_or_else(|| {
            Error::new(ErrorKind::BadFileFormat, "not a 32-byte key written as 64 hex characters or as base64")
        })?;
        Ok(Key { bytes })
    }

    pub fn to_hex(&self) -> String {
        hex(&self.bytes)
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.bytes.into())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(id={})", self.id())
    }
}

/// The keys of one installation: `current` encrypts, every key decrypts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRing {
    current: Key,
    previous: Vec<Key>,
}

impl KeyRing {
    pub fn new(current: Key) -> KeyRing {
        KeyRing { current, previous: Vec::new() }
    }

    /// A ring of `current` and older keys. Two keys with one id would make decryption ambiguous.
    pub fn with_previous(current: Key, previous: Vec<Key>) -> Result<KeyRing> {
        let mut ids: Vec<String> = Vec::with_capacity(previous.len() + 1);
        for key in std::iter::once(&current).chain(&previous) {
            let id = key.id();
            if ids.contains(&id) {
                return Err(Error::new(ErrorKind::BadFileFormat, format!("key file holds key {id} twice")));
            }
            ids.push(id);
        }
        Ok(KeyRing { current, previous })
    }

    pub fn current(&self) -> &Key {
        &self.current
    }

    pub fn previous(&self) -> &[Key] {
        &self.previous
    }

    /// A ring with a new current key; the old keys stay for decryption until every value is re-encrypted.
    pub fn rotated(&self) -> KeyRing {
        let taken: Vec<String> = self.keys().map(Key::id).collect();
        // A 32-bit id collides with another key's about once in 4 billion rotations; draw again then.
        let current =
            std::iter::repeat_with(Key::generate).find(|k| !taken.contains(&k.id())).expect("repeat_with never ends");
        let previous = self.keys().cloned().collect();
        KeyRing { current, previous }
    }

    /// Parse a key file: one key per line, the first the current one; blank lines and `#` comments (whole
    /// lines or after a key) are ignored. Errors name the line, never its text.
    pub fn parse(text: &str) -> Result<KeyRing> {
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let key = Key::parse(line).map_err(|e| {
                Error::new(ErrorKind::BadFileFormat, format!("key file line {}: {}", index + 1, e.message))
            })?;
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or_else(|| Error::new(ErrorKind::BadFileFormat, "key file holds no key"))?;
        KeyRing::with_previous(current, keys.collect())
    }

    /// The ring as a key file that [`KeyRing::parse`] reads back.
    pub fn to_file_text(&self) -> String {
        let mut out = String::from("# connector_fdw key file: the first key encrypts, every key decrypts.\n");
        out.push_str(&format!("# current key, id {}\n{}\n", self.current.id(), self.current.to_hex()));
        for key in &self.previous {
            out.push_str(&format!("# previous key, id {}\n{}\n", key.id(), key.to_hex()));
        }
        out
    }

    /// The key named by `id`, if the ring holds it.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.keys().find(|k| k.id() == id)
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

/// The parts of a ciphertext: key id and the decoded nonce || ciphertext || tag.
fn split(text: &str) -> Option<(&str, Vec<u8>)> {
    let rest = text.strip_prefix(VERSION)?.strip_prefix(':')?;
    let (id, data) = rest.split_once(':')?;
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let data = URL_SAFE_NO_PAD.decode(data).ok()?;
    (data.len() >= NONCE_LEN + TAG_LEN).then_some((id, data))
}

/// Whether `text` has the form of a value written by [`encrypt`] (without checking that it decrypts), so
/// callers can tell stored ciphertext from a credential that still needs encrypting.
pub fn is_ciphertext(text: &str) -> bool {
    split(text).is_some()
}

/// The id of the key that encrypted `text`, e.g. to find values a rotation has not re-encrypted yet.
pub fn key_id(text: &str) -> Option<&str> {
    split(text).map(|(id, _)| id)
}

/// Encrypt `plaintext` with the ring's current key.
pub fn encrypt(ring: &KeyRing, plaintext: &str) -> String {
    let key = ring.current();
    let header = format!("{VERSION}:{}", key.id());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = key
        .cipher()
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: header.as_bytes() })
        // AES-GCM refuses only plaintexts over 64 GiB, which no string option reaches.
        .expect("AES-GCM encrypts any string option");
    let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
    data.extend_from_slice(&nonce);
    data.extend_from_slice(&sealed);
    format!("{header}:{}", URL_SAFE_NO_PAD.encode(data))
}

/// Decrypt a value written by [`encrypt`] with whichever key of the ring its id names. Anything else is an
/// error, never passed through as plaintext; no message quotes the value or a key.
pub fn decrypt(ring: &KeyRing, text: &str) -> Result<String> {
    let (id, data) = split(text.trim()).ok_or_else(|| {
        Error::new(ErrorKind::InvalidValue, "stored credential is not a connector_fdw ciphertext")
            .with_detail(format!("expected {VERSION}:<key id>:<base64url data>"))
    })?;
    let key = ring.get(id).ok_or_else(|| {
        Error::new(
            ErrorKind::Authorization,
            format!("stored credential was encrypted with key {id}, which the key file does not hold"),
        )
        .with_hint(
            "restore the key file that holds this key, or set the credential again to encrypt it with the current key",
        )
    })?;
    let (nonce, sealed) = data.split_at(NONCE_LEN);
    let header = format!("{VERSION}:{id}");
    let plain = key
        .cipher()
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: header.as_bytes() })
        .map_err(|_| {
            Error::new(ErrorKind::Authorization, format!("stored credential does not decrypt with key {id}"))
                .with_detail("the value was altered or corrupted after it was encrypted")
                .with_hint("set the credential again")
        })?;
    String::from_utf8(plain)
        .map_err(|_| Error::new(ErrorKind::InvalidValue, "stored credential decrypts to text that is not UTF-8"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes an even-length string of hex digits.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    digits.chunks(2).map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(Key::generate())
    }

    #[test]
    fn round_trip() {
        let ring = ring();
        for plain in ["sk_live_abc", "", "pässwörd with spaces and : colons"] {
            let text = encrypt(&ring, plain);
            assert!(is_ciphertext(&text), "{text}");
            assert!(text.starts_with(&format!("cfdw1:{}:", ring.current().id())));
            assert_eq!(decrypt(&ring, &text).unwrap(), plain);
        }
    }

    #[test]
    fn nonces_differ_for_the_same_plaintext() {
        let ring = ring();
        let (a, b) = (encrypt(&ring, "same"), encrypt(&ring, "same"));
        assert_ne!(a, b);
        let nonce = |t: &str| split(t).unwrap().1[..NONCE_LEN].to_vec();
        assert_ne!(nonce(&a), nonce(&b));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = ring();
        let text = encrypt(&ring, "secret-value");
        let (id, data) = split(&text).unwrap();
        for i in [0, NONCE_LEN, data.len() - 1] {
            let mut bad = data.clone();
            bad[i] ^= 1;
            let err = decrypt(&ring, &format!("cfdw1:{id}:{}", URL_SAFE_NO_PAD.encode(&bad))).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Authorization);
            assert!(err.to_string().contains("altered"), "{err}");
        }
        // The key id is authenticated: relabelling a value as another key's fails even with both keys.
        let other = Key::generate();
        let both = KeyRing::with_previous(ring.current().clone(), vec![other.clone()]).unwrap();
        let swapped = text.replacen(id, &other.id(), 1);
        assert!(decrypt(&both, &swapped).is_err());
        // No plaintext fallback.
        let err = decrypt(&ring, "secret-value").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidValue);
        assert!(!format!("{err:?}").contains("secret-value"));
        assert!(decrypt(&ring, &text[..text.len() - 4]).is_err());
        assert!(!is_ciphertext("cfdw2:00000000:AAAA") && !is_ciphertext(&text.replacen("cfdw1", "cfdw9", 1)));
    }

    #[test]
    fn unknown_key_id_is_named() {
        let text = encrypt(&ring(), "x");
        let err = decrypt(&ring(), &text).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Authorization);
        let id = key_id(&text).unwrap();
        assert!(err.message.contains(id) && err.message.contains("key file does not hold"), "{err}");
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = ring();
        let before = encrypt(&old, "v1");
        let new = old.rotated();
        assert_eq!(new.previous(), std::slice::from_ref(old.current()));
        assert_ne!(new.current().id(), old.current().id());
        assert_eq!(decrypt(&new, &before).unwrap(), "v1");
        let after = encrypt(&new, "v2");
        assert_eq!(key_id(&after), Some(new.current().id().as_str()));
        assert!(decrypt(&old, &after).is_err());
        assert_eq!(new.rotated().previous().len(), 2);
    }

    #[test]
    fn key_file_round_trip() {
        let ring = ring().rotated().rotated();
        let text = ring.to_file_text();
        assert_eq!(KeyRing::parse(&text).unwrap(), ring);
        let key = ring.current();
        let hand_written = format!("\n# mine\n  {}  # current\n\n{}\n", key.to_base64(), ring.previous()[0].to_hex());
        let parsed = KeyRing::parse(&hand_written).unwrap();
        assert_eq!((parsed.current(), parsed.previous()), (key, &ring.previous()[..1]));
        assert_eq!(
            Key::parse(&key.to_base64().trim_end_matches('=').replace('+', "-").replace('/', "_")).unwrap(),
            *key
        );
        assert_eq!(Key::parse(&key.to_hex().to_uppercase()).unwrap(), *key);
    }

    #[test]
    fn bad_key_files_are_refused_without_quoting_them() {
        let key = Key::generate();
        let short = &key.to_hex()[..62];
        let err = KeyRing::parse(&format!("# c\n{}\n{short}\n", key.to_hex())).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadFileFormat);
        assert!(err.message.starts_with("key file line 3:") && !err.message.contains(short), "{err}");
        assert!(KeyRing::parse("# nothing\n\n").is_err());
        let twice = format!("{}\n{}\n", key.to_hex(), key.to_base64());
        assert!(KeyRing::parse(&twice).unwrap_err().message.contains("twice"));
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let ring = ring().rotated();
        let shown = format!("{ring:?} {:?}", ring.current());
        for key in std::iter::once(ring.current()).chain(ring.previous()) {
            assert!(!shown.contains(&key.to_hex()) && !shown.contains(&key.to_base64()), "{shown}");
            assert!(shown.contains(&key.id()));
        }
    }
}
