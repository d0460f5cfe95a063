//! Starting a program on the child side of a PTY.
//!
//! The child gets its own session and process group (`setsid`), the PTY as its controlling
//! terminal, default signal handling, and `PR_SET_PDEATHSIG` = SIGKILL so that it dies with Baton
//! even when Baton is killed outright. The death signal follows the *thread* that forked, not the
//! process, so every spawn happens on one long-lived spawner thread: a short-lived worker thread
//! would take its children with it when it ends.
//!
//! The child is made with `clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn` does, not with
//! `fork`: a fork copies the page tables of the whole server (tens of megabytes with its
//! database caches and sessions), which took ≈ 2.4 ms a spawn; this takes a fraction of that.
//! `posix_spawn` itself cannot set the death signal. Between the clone and the exec the child
//! shares Baton's memory, so it only makes system calls on what the parent prepared.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
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

/// A started child: its pid, and a wait for its exit.
pub struct Spawned(u32);

impl Spawned {
    pub fn id(&self) -> u32 {
        self.0
    }

    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        loop {
            let mut status = 0;
            // SAFETY: waits for our own child.
            if unsafe { libc::waitpid(self.0 as libc::pid_t, &mut status, 0) } == -1 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            return Ok(std::process::ExitStatus::from_raw(status));
        }
    }
}

/// What the child needs, prepared by the parent (the child may not allocate).
#[repr(C)]
struct ChildArgs {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    fds: [libc::c_int; 3],
    /// The errno of the step that failed (0: the exec happened).
    error: libc::c_int,
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: only syscalls between the clone and the exec; `arg` lives in the parent's frame,
    // which waits (CLONE_VFORK) until this execs or exits.
    unsafe {
        let args = &mut *(arg as *mut ChildArgs);
        let fail = |args: &mut ChildArgs| -> ! {
            args.error = *libc::__errno_location();
            if args.error == 0 {
                args.error = libc::EINVAL;
            }
            libc::_exit(127)
        };
        for signal in 1..32 {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        if libc::setsid() == -1 {
            fail(args);
        }
        for (target, fd) in args.fds.into_iter().enumerate() {
            let target = target as libc::c_int;
            // dup2 onto itself keeps close-on-exec: cleared instead (as std's Command does).
            let done = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if done == -1 {
                fail(args);
            }
        }
        if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
            fail(args);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
            fail(args);
        }
        if libc::getppid() == 1 {
            libc::_exit(1);
        }
        if libc::chdir(args.cwd) == -1 {
            fail(args);
        }
        libc::execve(args.program, args.argv, args.envp);
        fail(args)
    }
}

/// Starts `request` with the PTY's child side at `tty` as its standard streams, without copying
/// this process: `clone(CLONE_VM | CLONE_VFORK)` as `posix_spawn` does (which cannot set the
/// death signal).
pub fn spawn_on(tty: &Path, program: &Path, request: &SpawnRequest) -> Result<Spawned, PtyError> {
    let open = |what: &str| {
        File::options()
            .read(true)
            .write(true)
            .open(tty)
            .map_err(|e| PtyError::Open(format!("{what} {}: {e}", tty.display())))
    };
    let (stdin, stdout, stderr) = (open("stdin")?, open("stdout")?, open("stderr")?);
    let c = |bytes: &[u8]| CString::new(bytes).map_err(|_| PtyError::Open("a NUL byte".into()));
    let program_c = c(program.as_os_str().as_bytes())?;
    let cwd = c(request.cwd.as_os_str().as_bytes())?;
    let argv: Vec<CString> = request
        .argv
        .iter()
        .map(|a| c(a.as_bytes()))
        .collect::<Result<_, _>>()?;
    let envs: Vec<CString> = request
        .env
        .iter()
        .map(|(k, v)| c(format!("{k}={v}").as_bytes()))
        .collect::<Result<_, _>>()?;
    let program_name = request.argv[0].clone();
    on_spawner_thread(move || {
        let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_p.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = envs.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        let mut args = ChildArgs {
            program: program_c.as_ptr(),
            argv: argv_p.as_ptr(),
            envp: envp.as_ptr(),
            cwd: cwd.as_ptr(),
            fds: [stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()],
            error: 0,
        };
        let mut stack = vec![0u8; 64 * 1024];
        // SAFETY: the child runs `child_main` on `stack` and shares our memory until it execs or
        // exits (CLONE_VFORK suspends us meanwhile); every signal is blocked around it, so no
        // handler of ours runs on the child's side.
        let pid = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let top = stack.as_mut_ptr().add(stack.len()) as *mut libc::c_void;
            let top = ((top as usize) & !15) as *mut libc::c_void;
            let pid = libc::clone(
                child_main,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &mut args as *mut ChildArgs as *mut libc::c_void,
            );
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            pid
        };
        drop((stdin, stdout, stderr));
        if pid == -1 {
            return Err(std::io::Error::last_os_error());
        }
        let error = unsafe { std::ptr::read_volatile(&args.error) };
        if error != 0 {
            let mut status = 0;
            // SAFETY: reaps the child that failed before its exec.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Err(std::io::Error::from_raw_os_error(error));
        }
        Ok(Spawned(pid as u32))
    })
    .map_err(|source| PtyError::Spawn {
        program: program_name,
        source,
    })
}
