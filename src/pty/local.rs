//! The in-process host: a PTY per program, a reader thread per PTY, a waiter thread per process.
//!
//! Blocking PTY I/O stays off the async runtime. The reader gathers what is already available
//! (up to 64 KiB) before each append, so that a fast writer costs one log write and one broadcast
//! per batch rather than per `read()`. Dropping the parent's copy of the child side is what lets
//! the reader see the end of the output.

use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use portable_pty::{native_pty_system, MasterPty, PtySize};
use tokio::sync::watch;

use super::spawn::spawn_on;
use super::{find_program, Exit, Output, PtyError, PtyHost, Screen, Size, SpawnRequest, Terminal};
use crate::clock::now_ms;

const BATCH: usize = 64 * 1024;

#[derive(Default)]
pub struct LocalHost;

struct LocalTerminal {
    pid: u32,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    exit: watch::Receiver<Option<Exit>>,
    screen: Arc<Screen>,
}

impl PtyHost for LocalHost {
    fn spawn(
        &self,
        request: SpawnRequest,
        output: Arc<Output>,
    ) -> Result<Arc<dyn Terminal>, PtyError> {
        let program_name = request.argv.first().cloned().unwrap_or_default();
        let path_var = request
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str());
        let program = find_program(&program_name, path_var)
            .ok_or_else(|| PtyError::ProgramNotFound(program_name.clone()))?;
        if !request.cwd.is_dir() {
            return Err(PtyError::NoSuchFolder(request.cwd.display().to_string()));
        }
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: request.size.rows,
                cols: request.size.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| PtyError::Open(e.to_string()))?;
        let tty = pair
            .master
            .tty_name()
            .ok_or_else(|| PtyError::Open("the PTY has no name".into()))?;
        let mut child = spawn_on(&tty, &program, &request)?;
        // Our copy of the child side must go, or the reader never sees the end.
        drop(pair.slave);
        let pid = child.id();
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| PtyError::Open(e.to_string()))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| PtyError::Open(e.to_string()))?;
        let fd = pair.master.as_raw_fd();
        let writer = Arc::new(Mutex::new(writer));
        // The screen model answers the program's terminal queries (once, whoever watches).
        let answers = Arc::clone(&writer);
        let screen = Screen::start(&output, request.size, move |bytes| {
            let mut writer = answers.lock().unwrap_or_else(|p| p.into_inner());
            if writer
                .write_all(bytes)
                .and_then(|()| writer.flush())
                .is_err()
            {
                tracing::debug!("a terminal query's answer found the terminal closed");
            }
        })?;

        let (exit_tx, exit_rx) = watch::channel(None);
        let (eof_tx, eof_rx) = std::sync::mpsc::channel::<()>();
        let out = Arc::clone(&output);
        std::thread::Builder::new()
            .name(format!("pty-read-{pid}"))
            .spawn(move || {
                read_loop(reader, fd, &out);
                let _reader_done = eof_tx.send(());
            })?;
        std::thread::Builder::new()
            .name(format!("pty-wait-{pid}"))
            .spawn(move || {
                let status = child.wait();
                // All output is in only once the reader has hit the end. The kernel keeps what
                // the child wrote before exiting, so this always comes.
                let _ = eof_rx.recv();
                let exit = match status {
                    Ok(status) => exit_of(status),
                    Err(err) => {
                        tracing::error!(%err, pid, "cannot wait for a child");
                        Exit {
                            code: -1,
                            signal: None,
                        }
                    }
                };
                let _ = exit_tx.send(Some(exit));
                // Then to the disk: the end is reported without waiting for it (the log's
                // bytes are all written; readers see them before the sync as after it).
                if let Err(err) = output.sync() {
                    tracing::warn!(%err, "cannot sync a session log");
                }
            })?;
        Ok(Arc::new(LocalTerminal {
            pid,
            master: Mutex::new(pair.master),
            writer,
            exit: exit_rx,
            screen,
        }))
    }
}

/// Reads until the end, gathering what is already available into one append.
fn read_loop(mut reader: Box<dyn Read + Send>, fd: Option<RawFd>, output: &Output) {
    let mut buf = vec![0u8; BATCH];
    loop {
        let mut filled = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // More already waiting? Take it now: one log write and one broadcast per batch.
        while filled < BATCH && fd.is_some_and(readable_now) {
            match reader.read(&mut buf[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        if let Err(err) = output.append(&buf[..filled], now_ms()) {
            tracing::error!(%err, "cannot append to a session log");
        }
    }
}

fn readable_now(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { libc::poll(&mut pfd, 1, 0) == 1 && pfd.revents & libc::POLLIN != 0 }
}

fn exit_of(status: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit { code, signal: None },
        (None, Some(sig)) => Exit {
            code: 128 + sig,
            signal: Some(signal_name(sig)),
        },
        (None, None) => Exit {
            code: -1,
            signal: None,
        },
    }
}

fn signal_name(sig: i32) -> String {
    let known = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGUSR2, "SIGUSR2"),
    ];
    known
        .iter()
        .find(|(n, _)| *n == sig)
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or_else(|| format!("SIG{sig}"))
}

impl Terminal for LocalTerminal {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn write(&self, bytes: &[u8]) -> Result<(), PtyError> {
        if self.exit.borrow().is_some() {
            return Err(PtyError::Closed);
        }
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.write_all(bytes)?;
        writer.flush()?;
        Ok(())
    }

    fn resize(&self, size: Size) -> Result<(), PtyError> {
        self.screen.resize(size);
        self.master
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .resize(PtySize {
                rows: size.rows,
                cols: size.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| PtyError::Io(std::io::Error::other(e.to_string())))
    }

    fn signal(&self, signal: i32) -> Result<(), PtyError> {
        if self.exit.borrow().is_some() {
            return Err(PtyError::Closed);
        }
        // The child called setsid: its process group id is its pid.
        // SAFETY: plain syscall.
        let rc = unsafe { libc::killpg(self.pid as libc::pid_t, signal) };
        if rc == -1 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ESRCH) {
                return Err(err.into());
            }
        }
        Ok(())
    }

    fn exited(&self) -> watch::Receiver<Option<Exit>> {
        self.exit.clone()
    }

    fn screen(&self) -> &Arc<Screen> {
        &self.screen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(argv: &[&str], dir: &std::path::Path) -> SpawnRequest {
        SpawnRequest {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: dir.to_path_buf(),
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("TERM".into(), "xterm-256color".into()),
            ],
            size: Size { cols: 80, rows: 24 },
        }
    }

    async fn wait(term: &Arc<dyn Terminal>) -> Exit {
        let mut rx = term.exited();
        let exit = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(Option::is_some))
            .await
            .expect("process did not exit in time")
            .expect("watch closed")
            .clone();
        exit.expect("exit")
    }

    #[tokio::test]
    async fn output_and_exit_code_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let output = Arc::new(Output::open(&dir.path().join("o.log")).unwrap());
        let term = LocalHost
            .spawn(
                request(&["sh", "-c", "printf 'a\\033[31mb'; exit 3"], dir.path()),
                output.clone(),
            )
            .unwrap();
        let exit = wait(&term).await;
        assert_eq!(
            exit,
            Exit {
                code: 3,
                signal: None
            }
        );
        assert_eq!(output.read(0, 1000).unwrap(), b"a\x1b[31mb");
    }

    #[tokio::test]
    async fn a_signal_reaches_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let output = Arc::new(Output::open(&dir.path().join("o.log")).unwrap());
        let term = LocalHost
            .spawn(
                request(&["sh", "-c", "sleep 30 & wait"], dir.path()),
                output,
            )
            .unwrap();
        term.signal(libc::SIGTERM).unwrap();
        let exit = wait(&term).await;
        assert_eq!(exit.signal.as_deref(), Some("SIGTERM"));
        assert_eq!(exit.code, 128 + libc::SIGTERM);
    }

    #[tokio::test]
    async fn the_child_leads_its_own_session_on_the_terminal_with_its_env_and_folder() {
        let dir = tempfile::tempdir().unwrap();
        let output = Arc::new(Output::open(&dir.path().join("o.log")).unwrap());
        let mut req = request(
            &[
                "sh",
                "-c",
                // Field 6 of /proc/PID/stat is the session id; `trap` lists no ignored signal.
                "set -- $(cat /proc/$$/stat); echo \"leader=$([ \"$6\" = $$ ] && echo yes)\"; \
                 echo \"tty=$(tty)\"; echo \"cwd=$(pwd)\"; echo \"v=$BATON_X\"; \
                 echo \"arg0=$0\"; echo \"traps=$(trap)\"",
            ],
            dir.path(),
        );
        req.env.push(("BATON_X".into(), "from the request".into()));
        let term = LocalHost.spawn(req, output.clone()).unwrap();
        assert_eq!(wait(&term).await.code, 0);
        let text = String::from_utf8(output.read(0, 10_000).unwrap()).unwrap();
        let cwd = dir.path().canonicalize().unwrap();
        for expected in [
            "leader=yes".to_owned(),
            format!("cwd={}", cwd.display()),
            "v=from the request".to_owned(),
            "arg0=sh".to_owned(),
            "traps=\r".to_owned(),
        ] {
            assert!(text.contains(&expected), "{expected:?} in {text:?}");
        }
        assert!(text.contains("tty=/dev/pts/"), "{text:?}");
    }

    #[tokio::test]
    async fn a_program_that_cannot_run_is_an_error_not_a_child() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("broken");
        std::fs::write(&script, "#!/no/such/interpreter\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = Arc::new(Output::open(&dir.path().join("o.log")).unwrap());
        let program = script.display().to_string();
        match LocalHost.spawn(request(&[&program], dir.path()), output) {
            Err(PtyError::Spawn { source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOENT), "{source}")
            }
            Err(other) => panic!("another error: {other}"),
            Ok(_) => panic!("a program whose interpreter is missing started"),
        }
    }

    #[tokio::test]
    async fn a_missing_program_or_folder_is_refused_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        let output = Arc::new(Output::open(&dir.path().join("o.log")).unwrap());
        assert!(matches!(
            LocalHost.spawn(request(&["no-such-program-baton"], dir.path()), output.clone()),
            Err(PtyError::ProgramNotFound(p)) if p == "no-such-program-baton"
        ));
        assert!(matches!(
            LocalHost.spawn(request(&["sh"], &dir.path().join("nope")), output),
            Err(PtyError::NoSuchFolder(_))
        ));
    }
}
