//! Where a venue's API key and secret come from: two environment variables, or a key file
//! only its owner can read. Never the command line, never the configuration, never the
//! database: a [`super::VenueConfig`] names the source, this module reads it.
//!
//! Binance's SBE market data streams and its WebSocket API session logon accept Ed25519
//! keys only, so the secret must be an Ed25519 private key in PKCS#8 form (base64, or PEM
//! as Binance's key generator and `openssl genpkey -algorithm ed25519` write it). It is
//! checked here, before any connection, so a wrong secret is a configuration error with
//! its source named, not a failed handshake.

use std::{
    env::VarError,
    fmt,
    io::Read,
    path::{Path, PathBuf},
};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::VenueError;

/// A key file larger than this is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// The DER prefix of an Ed25519 private key in PKCS#8 v1 (RFC 8410): SEQUENCE { INTEGER 0,
/// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }. The 32-byte
/// seed follows. nautilus-binance 0.57 takes a key's last 32 bytes as the seed, so a PKCS#8
/// v2 key (public key appended) would sign with the wrong key: only v1 is accepted.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Where the API key and secret are read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySource {
    /// The names of two environment variables (`keys = { env = { api_key = "...",
    /// api_secret = "..." } }`).
    Env { api_key: String, api_secret: String },
    /// A TOML (or, named `*.json`, JSON) file with `api_key` and `api_secret` strings,
    /// readable by its owner only (`keys = { file = "/etc/stratbox/binance.toml" }`).
    File(PathBuf),
}

impl KeySource {
    /// Reads the key and secret, environment variables from the process environment.
    ///
    /// # Errors
    /// A variable is missing or empty, the key file is unreadable, readable by every user
    /// or malformed, or the secret is not an Ed25519 private key.
    pub fn resolve(&self) -> Result<Credentials, VenueError> {
        self.resolve_with(&|name| std::env::var(name))
    }

    /// [`Self::resolve`] with environment variables looked up by `env` (tests inject keys
    /// this way instead of changing the process environment).
    ///
    /// # Errors
    /// As [`Self::resolve`].
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Result<String, VarError>,
    ) -> Result<Credentials, VenueError> {
        match self {
            Self::Env {
                api_key,
                api_secret,
            } => {
                let key = env_value(env, api_key)?;
                let secret = env_value(env, api_secret)?;
                Credentials::checked(key, secret, &format!("environment variable {api_secret}"))
            }
            Self::File(path) => {
                let file = read_key_file(path)?;
                Credentials::checked(
                    file.api_key,
                    file.api_secret,
                    &format!("key file {}", path.display()),
                )
            }
        }
    }

    /// Where the keys come from, for messages (never the values).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Env {
                api_key,
                api_secret,
            } => format!("environment variables {api_key} and {api_secret}"),
            Self::File(path) => format!("key file {}", path.display()),
        }
    }
}

fn env_value(
    env: &dyn Fn(&str) -> Result<String, VarError>,
    name: &str,
) -> Result<String, VenueError> {
    let missing = |why: &str| VenueError::Keys(format!("environment variable {name} {why}"));
    match env(name) {
        Ok(v) if v.trim().is_empty() => Err(missing(
            "is empty: set it to the venue's API key or secret, or name a key file with `keys = { file = \"...\" }`",
        )),
        Ok(v) => Ok(v),
        Err(VarError::NotPresent) => Err(missing(
            "is not set: export it (the key or secret from the venue's API management page), or name a key file with `keys = { file = \"...\" }`",
        )),
        Err(VarError::NotUnicode(_)) => Err(missing("is not valid UTF-8")),
    }
}

/// The key file's contents.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    api_key: String,
    api_secret: String,
}

fn read_key_file(path: &Path) -> Result<KeyFile, VenueError> {
    let err = |why: String| VenueError::Keys(format!("key file {}: {why}", path.display()));
    // Through a cap-std handle on its folder, as every file the host reads.
    let name = path
        .file_name()
        .ok_or_else(|| err("names no file".into()))?;
    let dir = crate::storage::open_dir(path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| err(format!("cannot open its folder ({e})")))?;
    let file = dir.open(name).map_err(|e| {
        err(format!(
            "cannot open it ({e}); check the path in `keys = {{ file = \"...\" }}`"
        ))
    })?;
    let meta = file
        .metadata()
        .map_err(|e| err(format!("cannot read its metadata ({e})")))?;
    if !meta.is_file() {
        return Err(err("is not a regular file".into()));
    }
    check_private(&meta).map_err(err)?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(err(format!(
            "is {} bytes; a key file holds two short strings",
            meta.len()
        )));
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| err(format!("cannot read it as UTF-8 text ({e})")))?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    // Parse errors name the line only: their usual excerpt of the file would print the secret.
    if json {
        serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "is not a JSON object with exactly the strings `api_key` and `api_secret` (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    } else {
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(|before| before.matches('\n').count() + 1);
            err(format!(
                "is not TOML with exactly the strings `api_key` and `api_secret`{}",
                line.map(|l| format!(" (line {l})")).unwrap_or_default()
            ))
        })
    }
}

/// A key file must not be readable (or writable) by every user.
#[cfg(unix)]
fn check_private(meta: &cap_std::fs::Metadata) -> Result<(), String> {
    use cap_std::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        return Err(format!(
            "is accessible by every user (mode {mode:03o}); stratbox does not read a secret others can read: run `chmod 600` on it"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &cap_std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// A checked API key and Ed25519 secret. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    api_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Checks `api_key` and `api_secret` (read from `source`, named in errors).
    fn checked(api_key: String, api_secret: String, source: &str) -> Result<Self, VenueError> {
        let api_key = api_key.trim().to_string();
        if api_key.is_empty()
            || !api_key
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err(VenueError::Keys(format!(
                "the API key next to the secret in {source} is empty or has characters an API key does not have (spaces, quotes, non-ASCII)"
            )));
        }
        ed25519_seed(&api_secret).map_err(|why| {
            VenueError::Keys(format!(
                "the API secret from {source} {why}: Binance's SBE market data streams and WebSocket API logon accept Ed25519 keys only (HMAC secrets do not work); register an Ed25519 public key with the venue and give its private key in PKCS#8 form, base64 or PEM"
            ))
        })?;
        Ok(Self {
            api_key,
            api_secret,
        })
    }

    /// The API key (public: it is sent in every request's `X-MBX-APIKEY` header).
    #[must_use]
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The secret, for the adapter's configuration only.
    pub(super) fn api_secret(&self) -> &str {
        &self.api_secret
    }
}

/// The 32-byte seed of an Ed25519 PKCS#8 v1 private key given as base64 or PEM.
fn ed25519_seed(secret: &str) -> Result<[u8; 32], &'static str> {
    let body: String = secret
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "is not base64 or PEM")?;
    if der.len() != ED25519_PKCS8_V1_PREFIX.len() + 32 || !der.starts_with(&ED25519_PKCS8_V1_PREFIX)
    {
        return Err("is not an Ed25519 private key in PKCS#8 v1 form");
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&der[ED25519_PKCS8_V1_PREFIX.len()..]);
    Ok(seed)
}

/// `seed` as the base64 PKCS#8 v1 private key Binance's tools write (for tests and tools
/// that make a key).
#[must_use]
pub fn ed25519_pkcs8_base64(seed: &[u8; 32]) -> String {
    let mut der = ED25519_PKCS8_V1_PREFIX.to_vec();
    der.extend_from_slice(seed);
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SEED: [u8; 32] = [7; 32];

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, VarError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |name| map.get(name).cloned().ok_or(VarError::NotPresent)
    }

    fn source() -> KeySource {
        KeySource::Env {
            api_key: "K".into(),
            api_secret: "S".into(),
        }
    }

    #[test]
    fn env_keys_are_read_and_the_secret_never_printed() {
        let secret = ed25519_pkcs8_base64(&SEED);
        let creds = source()
            .resolve_with(&env(&[("K", "key-1"), ("S", &secret)]))
            .unwrap();
        assert_eq!(creds.api_key(), "key-1");
        assert_eq!(creds.api_secret(), secret);
        assert!(!format!("{creds:?}").contains(&secret));
    }

    #[test]
    fn a_missing_variable_is_named() {
        let e = source()
            .resolve_with(&env(&[("K", "key-1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("environment variable S is not set"), "{e}");
    }

    #[test]
    fn a_pem_secret_is_accepted_and_an_hmac_secret_refused() {
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            ed25519_pkcs8_base64(&SEED)
        );
        assert_eq!(ed25519_seed(&pem), Ok(SEED));
        // Binance's HMAC test secret (binance-signature-examples): base64-decodable, not Ed25519.
        let hmac = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let e = source()
            .resolve_with(&env(&[("K", "key-1"), ("S", hmac)]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("environment variable S is not an Ed25519"),
            "{e}"
        );
        assert!(!e.contains(hmac), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("binance.toml");
        let secret = ed25519_pkcs8_base64(&SEED);
        std::fs::write(
            &path,
            format!("api_key = \"key-2\"\napi_secret = \"{secret}\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = KeySource::File(path.clone())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("accessible by every user (mode 644)"), "{e}");
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let creds = KeySource::File(path).resolve().unwrap();
        assert_eq!(creds.api_key(), "key-2");
    }

    #[cfg(unix)]
    #[test]
    fn a_malformed_key_file_is_reported_without_its_contents() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("binance.json");
        std::fs::write(&path, "{\"api_key\": \"k\", \"api_secret\": 12345}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = KeySource::File(path).resolve().unwrap_err().to_string();
        assert!(e.contains("is not a JSON object"), "{e}");
        assert!(!e.contains("12345"), "{e}");
        let missing = KeySource::File(dir.path().join("absent.toml"))
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot open it"), "{missing}");
    }
}
