//! A scripted stand-in for an AI coding agent, used by the integration tests and benchmarks.
//!
//! It prints a coloured banner and a prompt (`agent> `), then answers one command per line:
//! `size`, `env`, `call METHOD PATH [JSON]` (calls the Baton API with `BATON_TOKEN`),
//! `token-to FILE` (writes its token to a file, for tests of revocation), `env-is NAME VALUE`
//! (whether its environment has that value, without printing it), `ignore-term`
//! (ignores SIGTERM and SIGHUP), `burst N` (N lines at once), `exit N`; anything else is echoed
//! back as `you said: …`. On SIGWINCH it prints `resized COLSxROWS`. Its arguments are printed at
//! start as `args: a|b|c`.
//!
//! At start it prints `started at COLSxROWS`, the terminal size it was given.
//!
//! For benchmarks: `--generate BYTES` writes deterministic printable lines in raw mode and exits;
//! `--echo` writes every byte it reads straight back.
//!
//! For the queue tests, a batch agent (like `claude -p`): `--batch [sleep=MS] [linger=MS]
//! [exit=N] [log=FILE] [count=FILE done-at=N]` appends `start TASK` to FILE, sleeps, counts its
//! runs in the count file and marks its task (`BATON_TASK_IDS`) completed through the API on run
//! N, then exits with N (default 0). With `linger`, SIGTERM or SIGHUP during the sleep ends it
//! only that much later (an agent slow to quit).
//!
//! For the terminal-query tests: `--record FILE [QUERY…]` turns echo off (raw mode), prints
//! `recording at COLSxROWS`, asks each QUERY (`da` = `ESC[c`, `cpr` = `ESC[6n`, `bg` = `OSC 11;?`),
//! and then appends every byte it receives to FILE, printing `got …` (escaped) for each read.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static RESIZED: AtomicBool = AtomicBool::new(false);
static TERMINATED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    TERMINATED.store(true, Ordering::SeqCst);
}

extern "C" fn on_winch(_: libc::c_int) {
    RESIZED.store(true, Ordering::SeqCst);
}

fn size() -> (u16, u16) {
    // SAFETY: TIOCGWINSZ fills a winsize.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        libc::ioctl(0, libc::TIOCGWINSZ, &mut ws);
        (ws.ws_col, ws.ws_row)
    }
}

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn prompt() {
    say("agent> ");
}

/// A bare HTTP/1.1 request to the Baton API; returns the status code.
fn call(method: &str, path: &str, body: Option<&str>) -> Result<u16, String> {
    let base = std::env::var("BATON_API_URL").map_err(|_| "no BATON_API_URL")?;
    let token = std::env::var("BATON_TOKEN").map_err(|_| "no BATON_TOKEN")?;
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad response {response:?}"))
}

/// `--batch`: one run of a batch agent (see the module's doc).
fn batch(options: &[String]) {
    let option = |name: &str| {
        options
            .iter()
            .find_map(|o| o.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    let task = std::env::var("BATON_TASK_IDS").unwrap_or_default();
    if let Some(log) = option("log") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the log opens");
        let _ = writeln!(file, "start {task}");
    }
    say(&format!("batch run of {task}\n"));
    let linger: Option<u64> = option("linger").and_then(|v| v.parse().ok());
    if linger.is_some() {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t);
            libc::signal(libc::SIGHUP, on_term as *const () as libc::sighandler_t);
        }
    }
    if let Some(ms) = option("sleep").and_then(|v| v.parse::<u64>().ok()) {
        let until = std::time::Instant::now() + Duration::from_millis(ms);
        while std::time::Instant::now() < until {
            if let (Some(linger), true) = (linger, TERMINATED.load(Ordering::SeqCst)) {
                say("asked to stop; lingering\n");
                std::thread::sleep(Duration::from_millis(linger));
                std::process::exit(143);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if let (Some(count), Some(at)) = (option("count"), option("done-at")) {
        let n: u32 = std::fs::read_to_string(&count)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
            + 1;
        let _ = std::fs::write(&count, n.to_string());
        if n >= at.parse().unwrap_or(u32::MAX) {
            let path = format!("/api/tasks/{task}");
            match call("PATCH", &path, Some(r#"{"status":"completed"}"#)) {
                Ok(status) => say(&format!("marked done: {status}\n")),
                Err(e) => say(&format!("could not mark done: {e}\n")),
            }
        }
    }
    std::process::exit(option("exit").and_then(|v| v.parse().ok()).unwrap_or(0));
}

/// The deterministic printable lines `--generate BYTES` writes.
fn generated(total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total + 100);
    let mut i = 0u64;
    while out.len() < total {
        out.extend_from_slice(
            format!("{i:010} the quick brown fox jumps over the lazy dog 0123456789\n").as_bytes(),
        );
        i += 1;
    }
    out.truncate(total);
    out
}

/// Puts the terminal on `fd` in raw mode (no echo, no `\n` → `\r\n`), if it is one.
fn raw_mode(fd: i32) {
    // SAFETY: termios calls on our own terminal.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
    }
}

/// `--echo`: raw mode; every byte read is written straight back (a keystroke round trip).
fn echo() {
    raw_mode(0);
    let mut buf = [0u8; 4096];
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    while let Ok(n) = input.read(&mut buf) {
        if n == 0 || out.write_all(&buf[..n]).is_err() || out.flush().is_err() {
            return;
        }
    }
}

/// `--generate BYTES`: raw mode (no `\n` → `\r\n`), write the lines, exit.
fn generate(total: usize) {
    raw_mode(1);
    let data = generated(total);
    let mut out = std::io::stdout().lock();
    for chunk in data.chunks(64 * 1024) {
        if out.write_all(chunk).is_err() {
            std::process::exit(1);
        }
    }
    let _ = out.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, bytes] if flag == "--generate" => return generate(bytes.parse().unwrap_or(0)),
        [flag] if flag == "--echo" => return echo(),
        [flag, file, queries @ ..] if flag == "--record" => return record(file, queries),
        [flag, options @ ..] if flag == "--batch" => return batch(options),
        _ => {}
    }
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGWINCH, on_winch as *const () as libc::sighandler_t);
    }
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(10));
        if RESIZED.swap(false, Ordering::SeqCst) {
            let (c, r) = size();
            say(&format!("\nresized {c}x{r}\n"));
        }
    });
    let (c, r) = size();
    say("\x1b[1;32mscripted agent ready\x1b[0m \x1b[38;5;208mcolours\x1b[0m\n");
    say(&format!("started at {c}x{r}\n"));
    say(&format!("args: {}\n", args.join("|")));
    prompt();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["size"] => {
                let (c, r) = size();
                say(&format!("size {c}x{r}\n"));
            }
            ["env-is", name, value] => {
                let same = std::env::var(name).is_ok_and(|v| v == *value);
                say(&format!("env-is {same}\n"));
            }
            ["env"] => {
                for key in [
                    "BATON_API_URL",
                    "BATON_PROJECT_ID",
                    "BATON_SESSION_ID",
                    "BATON_TASK_IDS",
                    "TERM",
                ] {
                    say(&format!(
                        "{key}={}\n",
                        std::env::var(key).unwrap_or_default()
                    ));
                }
                let token = std::env::var("BATON_TOKEN").unwrap_or_default();
                say(&format!(
                    "token {}\n",
                    if token.starts_with("bst_") {
                        "session"
                    } else {
                        "missing"
                    }
                ));
            }
            ["call", method, path] => match call(method, path, None) {
                Ok(status) => say(&format!("status {status}\n")),
                Err(e) => say(&format!("call failed: {e}\n")),
            },
            ["call", method, path, ..] => {
                let body = line.splitn(4, ' ').nth(3).unwrap_or("");
                match call(method, path, Some(body)) {
                    Ok(status) => say(&format!("status {status}\n")),
                    Err(e) => say(&format!("call failed: {e}\n")),
                }
            }
            ["token-to", file] => {
                let token = std::env::var("BATON_TOKEN").unwrap_or_default();
                let written = std::fs::write(file, token).is_ok();
                say(&format!("token written {written}\n"));
            }
            ["ignore-term"] => {
                // SAFETY: ignoring signals.
                unsafe {
                    libc::signal(libc::SIGTERM, libc::SIG_IGN);
                    libc::signal(libc::SIGHUP, libc::SIG_IGN);
                }
                say("ignoring SIGTERM\n");
            }
            ["burst", n] => {
                let n: usize = n.parse().unwrap_or(0);
                let mut text = String::new();
                for i in 0..n {
                    text.push_str(&format!("line {i}\n"));
                }
                say(&text);
            }
            ["exit", code] => {
                say("bye\n");
                std::process::exit(code.parse().unwrap_or(1));
            }
            _ => say(&format!("you said: {line}\n")),
        }
        prompt();
    }
}

/// Raw mode, then asks the terminal `queries` and records everything it receives in `file`.
fn record(file: &str, queries: &[String]) {
    // SAFETY: termios of our own terminal.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            t.c_oflag |= libc::OPOST | libc::ONLCR;
            libc::tcsetattr(0, libc::TCSANOW, &t);
        }
    }
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("record file");
    let (c, r) = size();
    say(&format!("recording at {c}x{r}\n"));
    for q in queries {
        say(match q.as_str() {
            "da" => "\x1b[c",
            "cpr" => "\x1b[6n",
            "bg" => "\x1b]11;?\x07",
            _ => "",
        });
    }
    say("asked\n");
    let mut buf = [0u8; 4096];
    let mut stdin = std::io::stdin().lock();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let _ = log.write_all(&buf[..n]);
        let _ = log.flush();
        let shown: String = buf[..n]
            .iter()
            .map(|&b| match b {
                0x1b => "ESC".to_owned(),
                0x20..=0x7e => (b as char).to_string(),
                _ => format!("<{b:02x}>"),
            })
            .collect();
        say(&format!("got {shown}\n"));
    }
}
