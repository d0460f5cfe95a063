//! Where Baton keeps its data and how the server listens.
//!
//! The data folder is `--data-dir`, else `BATON_DATA_DIR`, else the platform's data folder
//! (`~/.local/share/baton` on Linux). It holds the SQLite database and the admin token, and is
//! kept owner-only (mode 0700).

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// The default API port of `baton serve` (`--port 0` picks a free one).
pub const DEFAULT_PORT: u16 = 7420;

#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub host: IpAddr,
    pub port: u16,
    /// A database URL (`postgres://…`) instead of the SQLite file in the data folder.
    /// It may hold a password: never log it.
    pub database_url: Option<String>,
    /// The built web UI served at `/`.
    pub ui_dir: PathBuf,
    /// How webhook deliveries are tried and retried.
    pub webhooks: crate::service::webhook_delivery::Policy,
}

impl Config {
    /// A loopback server on `port` with its data in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            database_url: None,
            ui_dir: crate::api::ui::default_dir(),
            webhooks: Default::default(),
        }
    }
}

/// The platform's data folder for Baton, if the platform has one.
pub fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "Baton", "baton")
        .map(|dirs| dirs.data_dir().to_path_buf())
}

/// Creates the data folder if needed and makes it owner-only.
pub fn prepare_data_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            tracing::info!(path = %dir.display(), "restricting the data folder to its owner (0700)");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// The `baton` program: this executable when it is `baton`, else a `baton` beside it (the
/// desktop app ships one), else one on `PATH`.
pub fn locate_cli() -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    if me.file_stem().is_some_and(|s| s == "baton") {
        return Some(me);
    }
    let beside = me.with_file_name("baton");
    if beside.is_file() {
        return Some(beside);
    }
    crate::pty::find_program("baton", std::env::var("PATH").ok().as_deref())
}
