//! The admin token: 256 bits from the OS random source, made on first start and kept in
//! `<data-dir>/token` (mode 0600). It is compared in constant time and never logged: its `Debug`
//! form is redacted, and nothing else prints it.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

const FILE: &str = "token";
/// 32 bytes as lower-case hex.
const LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read or write the token file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the OS random source failed: {0}")]
    Random(String),
    #[error("the token file {path} is damaged (expected {LEN} hex characters); delete it to make a new token")]
    Damaged { path: PathBuf },
}

#[derive(Clone)]
pub struct AdminToken(String);

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// Reads the token from `data_dir`, or makes and stores a new one.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, TokenError> {
        let path = data_dir.join(FILE);
        let io_err = |source| TokenError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let token = text.trim().to_owned();
                if token.len() != LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(TokenError::Damaged { path });
                }
                restrict(&path).map_err(io_err)?;
                Ok(Self(token))
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let token = Self::generate()?;
                write_new(&path, &token.0).map_err(io_err)?;
                tracing::info!(path = %path.display(), "created a new API token");
                Ok(token)
            }
            Err(err) => Err(io_err(err)),
        }
    }

    fn generate() -> Result<Self, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Whether `candidate` is this token, in time independent of where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// The secret itself, for the few places that must hand it on (never a log line).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The admin token in force, shared by the gate and the doors that can replace it. A new token
/// takes effect at once: requests and new connections with the old one are refused (connections
/// already open stay open).
#[derive(Clone, Debug)]
pub struct SharedToken {
    current: std::sync::Arc<std::sync::RwLock<AdminToken>>,
    data_dir: PathBuf,
}

impl SharedToken {
    pub fn load_or_create(data_dir: &Path) -> Result<Self, TokenError> {
        Ok(Self {
            current: std::sync::Arc::new(std::sync::RwLock::new(AdminToken::load_or_create(
                data_dir,
            )?)),
            data_dir: data_dir.to_path_buf(),
        })
    }

    pub fn matches(&self, candidate: &str) -> bool {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .matches(candidate)
    }

    /// The secret, for the few places that must hand it on (never a log line).
    pub fn expose(&self) -> String {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .expose()
            .to_owned()
    }

    /// Makes a new token, stores it (replacing the file atomically, mode 0600) and puts it in force.
    pub fn regenerate(&self) -> Result<String, TokenError> {
        let path = self.data_dir.join(FILE);
        let fresh = AdminToken::generate()?;
        let staging = self.data_dir.join("token.new");
        let io_err = |source| TokenError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::remove_file(&staging) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(e)),
            _ => {}
        }
        write_new(&staging, fresh.expose()).map_err(io_err)?;
        std::fs::rename(&staging, &path).map_err(io_err)?;
        let secret = fresh.expose().to_owned();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        tracing::info!("the API token was replaced");
        Ok(secret)
    }
}

/// Writes a new file readable by its owner alone; never replaces an existing one.
fn write_new(path: &Path, token: &str) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Makes an existing token file owner-only again if someone loosened it.
fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != 0o600 {
            tracing::warn!(path = %path.display(), "token file was readable by others; restricting it to 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = AdminToken::load_or_create(dir.path()).unwrap();
        let again = AdminToken::load_or_create(dir.path()).unwrap();
        assert_eq!(first.expose(), again.expose());
        assert_eq!(first.expose().len(), 64);
        assert!(first.matches(again.expose()));
        assert!(!first.matches(&again.expose()[..63]));
        assert!(!first.matches(""));
    }

    #[test]
    fn two_data_folders_get_different_tokens() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ta = AdminToken::load_or_create(a.path()).unwrap();
        let tb = AdminToken::load_or_create(b.path()).unwrap();
        assert_ne!(ta.expose(), tb.expose());
    }

    #[test]
    fn a_regenerated_token_replaces_the_old_one_on_disk_and_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let shared = SharedToken::load_or_create(dir.path()).unwrap();
        let old = shared.expose();
        let new = shared.regenerate().unwrap();
        assert_ne!(old, new);
        assert!(shared.matches(&new) && !shared.matches(&old));
        assert_eq!(
            AdminToken::load_or_create(dir.path()).unwrap().expose(),
            new
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn debug_output_does_not_reveal_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::load_or_create(dir.path()).unwrap();
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn a_damaged_token_file_is_an_error_not_a_new_token() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "short").unwrap();
        assert!(matches!(
            AdminToken::load_or_create(dir.path()),
            Err(TokenError::Damaged { .. })
        ));
    }
}
