//! The live side of sessions: which session has a process, its terminal, output and activity.
//! Rows in the database say what was; this says what runs now. It is rebuilt empty at every
//! start (sessions that were running when Baton went away are marked `interrupted`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::handover::RedrawWindow;
use crate::model::{Activity, ActivitySource, Decision, EndReason, PermissionAsked};
use crate::pty::{Output, PtyHost, Terminal};
use crate::security::{SessionTokens, SharedToken};

/// A decision on a permission request, with the reason told to the agent.
pub type Decided = (Decision, Option<String>);

/// One process run of a session.
/// Which run a process is: its row, and the task the queue started it for.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    pub run_id: String,
    /// Where the session's log ended before the process started: its output starts here
    /// (bytes printed between the spawn and this record count too).
    pub log_start: u64,
    pub number: u32,
    pub task_id: Option<String>,
    pub attempt: Option<u32>,
    /// When it started (Unix ms): its row's `started_at`.
    pub started_at: i64,
}

pub struct Run {
    pub session_id: String,
    pub project_id: String,
    pub info: RunInfo,
    pub terminal: Arc<dyn Terminal>,
    pub output: Arc<Output>,
    /// Where this run's output starts in the session log.
    pub first_byte: u64,
    /// Set once, by the first stop asked: why, and the grace before SIGKILL.
    stop: watch::Sender<Option<(EndReason, Duration)>>,
    activity: Mutex<Activity>,
    /// When output is a redraw after resizes, not work.
    redraw: Mutex<RedrawWindow>,
    /// Unix ms since when it waits; 0 while it works.
    waiting_since: AtomicI64,
    /// Becomes true once the end of the run is recorded.
    done_tx: watch::Sender<bool>,
    /// What the agent's hooks report, for its supervisor's state machine.
    signal_tx: mpsc::UnboundedSender<Activity>,
    signal_rx: Mutex<Option<mpsc::UnboundedReceiver<Activity>>>,
    /// Whether its activity comes from its hooks (once one reported).
    by_hook: AtomicBool,
    /// The permission it waits for, while it does.
    permission: Mutex<Option<PermissionAsked>>,
}

impl Run {
    pub fn new(
        session_id: &str,
        project_id: &str,
        info: RunInfo,
        terminal: Arc<dyn Terminal>,
        output: Arc<Output>,
    ) -> Self {
        let (signal_tx, signal_rx) = mpsc::unbounded_channel();
        Self {
            session_id: session_id.to_owned(),
            project_id: project_id.to_owned(),
            first_byte: info.log_start,
            info,
            terminal,
            output,
            stop: watch::channel(None).0,
            activity: Mutex::new(Activity::Working),
            redraw: Mutex::new(RedrawWindow::default()),
            waiting_since: AtomicI64::new(0),
            done_tx: watch::channel(false).0,
            signal_tx,
            signal_rx: Mutex::new(Some(signal_rx)),
            by_hook: AtomicBool::new(false),
            permission: Mutex::new(None),
        }
    }

    /// A hook reported `activity` (with the permission asked, when it asks one): its
    /// supervisor's state machine takes it from here.
    pub fn signal(&self, activity: Activity, permission: Option<PermissionAsked>) {
        self.by_hook.store(true, Ordering::SeqCst);
        if activity == Activity::WaitingPermission || permission.is_some() {
            *self.permission.lock().unwrap_or_else(|p| p.into_inner()) = permission;
        }
        // The supervisor may be gone (the run ended): nothing left to tell.
        let _ = self.signal_tx.send(activity);
    }

    /// The supervisor's end of the hook signals (taken once).
    pub fn take_signals(&self) -> Option<mpsc::UnboundedReceiver<Activity>> {
        self.signal_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn started_at_ms(&self) -> i64 {
        self.info.started_at
    }

    pub fn activity_source(&self) -> ActivitySource {
        if self.by_hook.load(Ordering::SeqCst) {
            ActivitySource::Hook
        } else {
            ActivitySource::Output
        }
    }

    /// The permission it waits for, while its activity says so.
    pub fn permission(&self) -> Option<PermissionAsked> {
        if self.activity() != Activity::WaitingPermission {
            return None;
        }
        self.permission
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn mark_resized(&self, now_ms: i64) {
        let mut window = self.redraw.lock().unwrap_or_else(|p| p.into_inner());
        *window = window.after_resize(now_ms);
    }

    pub fn redraw_window(&self) -> RedrawWindow {
        *self.redraw.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the run's supervisor to stop it (the first ask wins).
    pub fn request_stop(&self, reason: EndReason, grace: Duration) {
        self.stop.send_if_modified(|stop| {
            if stop.is_some() {
                return false;
            }
            *stop = Some((reason, grace));
            true
        });
    }

    /// The stop asked, if any.
    pub fn stop_requested(&self) -> Option<(EndReason, Duration)> {
        *self.stop.borrow()
    }

    pub fn stop_asked(&self) -> watch::Receiver<Option<(EndReason, Duration)>> {
        self.stop.subscribe()
    }

    pub fn activity(&self) -> Activity {
        *self.activity.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_activity(&self, activity: Activity) {
        let mut current = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        if *current == activity {
            return;
        }
        *current = activity;
        let since = if activity.is_waiting() {
            crate::clock::now_ms()
        } else {
            0
        };
        self.waiting_since.store(since, Ordering::Relaxed);
    }

    /// Since when it waits (Unix ms), while it does.
    pub fn waiting_since(&self) -> Option<i64> {
        Some(self.waiting_since.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }

    /// Bytes this run has printed so far.
    pub fn output_bytes(&self) -> u64 {
        self.output.end().saturating_sub(self.first_byte)
    }

    pub fn mark_done(&self) {
        self.done_tx.send_replace(true);
    }

    /// Resolves once the end of this run is recorded in the database.
    pub fn done(&self) -> watch::Receiver<bool> {
        self.done_tx.subscribe()
    }
}

pub struct Runtime {
    pub host: Arc<dyn PtyHost>,
    pub data_dir: PathBuf,
    pub tokens: SessionTokens,
    /// The admin token in force (for the doors that show or replace it).
    pub admin: SharedToken,
    /// The `baton` program agents can run (the CLI and `baton mcp`), when it is known: its
    /// folder goes first on their `PATH`.
    pub cli: Option<PathBuf>,
    runs: Mutex<HashMap<String, Arc<Run>>>,
    /// Output bytes of the runs no longer registered (see [`Runtime::output_bytes`]).
    ended_bytes: AtomicU64,
    /// Permission hooks waiting for a decision made in Baton, by action id.
    pub approvals: Mutex<HashMap<String, watch::Sender<Option<Decided>>>>,
    /// How far each transcript has been read (bytes), by path.
    pub transcripts: tokio::sync::Mutex<HashMap<PathBuf, u64>>,
}

impl Runtime {
    pub fn new(
        host: Arc<dyn PtyHost>,
        data_dir: &Path,
        tokens: SessionTokens,
        admin: SharedToken,
    ) -> Self {
        Self {
            host,
            data_dir: data_dir.to_path_buf(),
            tokens,
            admin,
            cli: None,
            runs: Mutex::new(HashMap::new()),
            ended_bytes: AtomicU64::new(0),
            approvals: Mutex::new(HashMap::new()),
            transcripts: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, session_id: &str) -> Option<Arc<Run>> {
        self.lock().get(session_id).cloned()
    }

    pub fn insert(&self, run: Arc<Run>) {
        self.lock().insert(run.session_id.clone(), run);
    }

    /// Removes `run` if it is still the session's current one.
    pub fn remove(&self, run: &Arc<Run>) {
        let mut runs = self.lock();
        if runs
            .get(&run.session_id)
            .is_some_and(|r| Arc::ptr_eq(r, run))
        {
            runs.remove(&run.session_id);
            // Under the lock, so that a reader never counts this run twice or not at all.
            self.ended_bytes
                .fetch_add(run.output_bytes(), Ordering::SeqCst);
        }
    }

    /// Every byte the runs of this Baton have printed (only ever grows).
    pub fn output_bytes(&self) -> u64 {
        let runs = self.lock();
        let live: u64 = runs.values().map(|r| r.output_bytes()).sum();
        self.ended_bytes.load(Ordering::SeqCst) + live
    }

    /// How many sessions have a live process.
    pub fn running(&self) -> usize {
        self.lock().len()
    }

    pub fn all(&self) -> Vec<Arc<Run>> {
        self.lock().values().cloned().collect()
    }

    /// The folder of a session's files; its log is `output.log` in it.
    pub fn session_dir(&self, session_id: &str) -> PathBuf {
        self.data_dir.join("sessions").join(session_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Run>>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }
}
