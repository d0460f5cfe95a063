//! The PTY engine: runs one program per pseudo-terminal and keeps every byte it prints.
//!
//! It knows nothing of the database, the API or Tauri. The service layer asks a [`PtyHost`] to
//! spawn a [`SpawnRequest`] and gets a [`Terminal`] back: write keystrokes, resize, signal the
//! process group, and wait for the exit. Output goes into an [`Output`] the caller owns (one per
//! session, so that a restart continues the same log and byte offsets).
//!
//! The host is a trait so that a later out-of-process host (agents that outlive a crash of Baton,
//! as tmux sessions outlive their client) can replace the in-process [`LocalHost`].

mod local;
mod output;
pub mod screen;
mod spawn;

use std::path::PathBuf;
use std::sync::Arc;

pub use local::LocalHost;
pub use output::{Chunk, Output, Replay};
pub use screen::{Screen, Snapshot};

/// A terminal size in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub cols: u16,
    pub rows: u16,
}

/// What to run and where.
#[derive(Clone, Debug)]
pub struct SpawnRequest {
    /// The program and its arguments: never a shell string.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment of the process (nothing else is inherited).
    pub env: Vec<(String, String)>,
    pub size: Size,
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The exit code, or 128 + the signal number when a signal killed it.
    pub code: i32,
    /// The signal's name (`SIGTERM`, …) when a signal killed it.
    pub signal: Option<String>,
}

impl Exit {
    pub fn success(&self) -> bool {
        self.code == 0 && self.signal.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("program not found: {0}")]
    ProgramNotFound(String),
    #[error("working folder {0} does not exist")]
    NoSuchFolder(String),
    #[error("cannot open a pseudo-terminal: {0}")]
    Open(String),
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the terminal is closed")]
    Closed,
    #[error("terminal I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Starts programs in terminals.
pub trait PtyHost: Send + Sync + 'static {
    /// Starts `request`, sending everything it prints to `output`.
    fn spawn(
        &self,
        request: SpawnRequest,
        output: Arc<Output>,
    ) -> Result<Arc<dyn Terminal>, PtyError>;
}

/// One running (or exited) program in a terminal.
pub trait Terminal: Send + Sync {
    fn pid(&self) -> u32;
    /// Writes input (keystrokes, pasted text) to the program.
    fn write(&self, bytes: &[u8]) -> Result<(), PtyError>;
    /// Resizes the terminal (and its screen model).
    fn resize(&self, size: Size) -> Result<(), PtyError>;
    /// The server's model of the screen, which answers the program's terminal queries.
    fn screen(&self) -> &Arc<Screen>;
    /// Sends `signal` (e.g. `libc::SIGTERM`) to the program's whole process group.
    fn signal(&self, signal: i32) -> Result<(), PtyError>;
    /// Resolves once the process has exited *and* all its output has reached the [`Output`].
    fn exited(&self) -> tokio::sync::watch::Receiver<Option<Exit>>;
}

/// The path of `program` if it can be run: a path with a `/` as it is, else looked up on `path`
/// (a `PATH`-style list).
pub fn find_program(program: &str, path: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let p = PathBuf::from(program);
        return runnable(&p).then_some(p);
    }
    path.unwrap_or("/usr/local/bin:/usr/bin:/bin")
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|p| runnable(p))
}
