//! Forking a program onto the child side of a PTY.
//!
//! The child gets its own session and process group (`setsid`), the PTY as its controlling
//! terminal, default signal handling, and `PR_SET_PDEATHSIG` = SIGKILL so that it dies with Baton
//! even when Baton is killed outright. The death signal follows the *thread* that forked, not the
//! process, so every fork happens on one long-lived spawner thread: a short-lived worker thread
//! would take its children with it when it ends.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;

use super::{PtyError, SpawnRequest};

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the spawner thread and waits for it.
fn on_spawner_thread<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    static SPAWNER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("baton-pty-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("cannot start the PTY spawner thread");
        tx
    });
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        // The caller waits for this; it only goes away if it panicked.
        let _ = done_tx.send(job());
    });
    sender.send(job).expect("the PTY spawner thread is gone");
    done_rx
        .recv()
        .expect("the PTY spawner thread dropped a job")
}

/// Starts `request` with the PTY's child side at `tty` as its standard streams.
pub fn spawn_on(tty: &Path, program: &Path, request: &SpawnRequest) -> Result<Child, PtyError> {
    let open = |what: &str| {
        File::options()
            .read(true)
            .write(true)
            .open(tty)
            .map_err(|e| PtyError::Open(format!("{what} {}: {e}", tty.display())))
    };
    let (stdin, stdout, stderr) = (open("stdin")?, open("stdout")?, open("stderr")?);
    let mut command = Command::new(program);
    command
        .arg0(&request.argv[0])
        .args(&request.argv[1..])
        .env_clear()
        .envs(
            request
                .env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .current_dir(&request.cwd)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            for signal in [
                libc::SIGCHLD,
                libc::SIGHUP,
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGTERM,
                libc::SIGALRM,
                libc::SIGPIPE,
            ] {
                libc::signal(signal, libc::SIG_DFL);
            }
            let empty: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // Baton may have died between fork and prctl: then nobody would ever signal us.
            if libc::getppid() == 1 {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let program_name = request.argv[0].clone();
    on_spawner_thread(move || command.spawn()).map_err(|source| PtyError::Spawn {
        program: program_name,
        source,
    })
}
