//! Benchmarks of the PTY pipeline, each against a baseline measured in the same run, in
//! interleaved rounds (this machine is noisy), reporting medians:
//!
//! - `ingest`: a generator writes BENCH_MB MiB (default 256) of printable lines through a Baton
//!   session (log + tail + one WebSocket viewer) vs a minimal raw PTY read loop on the same
//!   generator. Throughput (MB/s) and reader CPU per MB; the saved log must equal what the
//!   generator wrote, byte for byte.
//! - `roundtrip`: a keystroke over the terminal WebSocket to an echoing program and back, p50 and
//!   p99, vs the same over a raw PTY.
//! - `scale`: 100 concurrent idle shells, then 100 sessions each printing a line every 10 ms: the
//!   server's RSS over its idle RSS, and its CPU vs a raw process reading the same 100 PTYs.
//!
//! Run: `cargo bench --bench pty` (all) or `cargo bench --bench pty -- ingest roundtrip scale`.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const AGENT: &str = env!("CARGO_BIN_EXE_baton-test-agent");
const BATON: &str = env!("CARGO_BIN_EXE_baton");
const MB: f64 = 1024.0 * 1024.0;
/// The load of the scale benchmark: a line every 10 ms.
const TICKER: &str = "while :; do echo line of output from an agent; sleep 0.01; done";

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: fills a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn self_cpu() -> f64 {
    // SAFETY: fills an rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU seconds a process has used (user + system).
fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(") ")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    // SAFETY: plain query.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn proc_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn pty_size() -> PtySize {
    PtySize {
        rows: 32,
        cols: 120,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// A running `baton serve` in a temporary data folder.
struct Baton {
    child: tokio::process::Child,
    url: String,
    token: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Baton {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(BATON)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines.next_line().await.unwrap().unwrap();
        let url = line.strip_prefix("listening on ").unwrap().to_owned();
        let token = std::fs::read_to_string(dir.path().join("token"))
            .unwrap()
            .trim()
            .to_owned();
        Self {
            child,
            url,
            token,
            dir,
            http: reqwest::Client::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn force_delete(&self, id: &str) {
        self.http
            .delete(format!("{}/api/sessions/{id}?force=true", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
    }

    async fn project(&self) -> String {
        let p = self
            .post(
                "/api/projects",
                json!({ "name": "bench", "basePath": self.dir.path() }),
            )
            .await;
        p["id"].as_str().unwrap().to_owned()
    }

    async fn session(&self, project: &str, command: Vec<String>) -> String {
        let s = self
            .post(
                "/api/sessions",
                json!({ "projectId": project, "command": command }),
            )
            .await;
        s["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {s}"))
            .to_owned()
    }

    async fn terminal(
        &self,
        id: &str,
        query: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        let mut req = format!(
            "{}/api/sessions/{id}/terminal{query}",
            self.url.replacen("http", "ws", 1)
        )
        .into_client_request()
        .unwrap();
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req).await.unwrap().0
    }
}

/// Raw baseline: spawn the generator on a PTY and read it to the end in a plain loop.
fn raw_ingest(bytes: usize) -> (f64, f64) {
    let pair = native_pty_system().openpty(pty_size()).unwrap();
    let mut cmd = CommandBuilder::new(AGENT);
    cmd.args(["--generate", &bytes.to_string()]);
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let reading = std::thread::spawn(move || {
        let cpu0 = thread_cpu();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        (total, thread_cpu() - cpu0)
    });
    let (total, cpu) = reading.join().unwrap();
    let wall = start.elapsed().as_secs_f64();
    child.wait().unwrap();
    assert_eq!(total, bytes, "raw loop read everything");
    (wall, cpu)
}

/// Through Baton: a session running the generator, watched by one WebSocket viewer.
async fn baton_ingest(baton: &Baton, project: &str, bytes: usize, expected: &[u8]) -> (f64, f64) {
    let cpu0 = proc_cpu(baton.pid());
    let start = Instant::now();
    let id = baton
        .session(
            project,
            vec![AGENT.into(), "--generate".into(), bytes.to_string()],
        )
        .await;
    let mut ws = baton.terminal(&id, "?offset=0").await;
    let mut seen = 0usize;
    while let Some(Ok(frame)) = ws.next().await {
        match frame {
            Message::Binary(b) => seen += b.len(),
            Message::Text(t) if t.contains("\"exit\"") => break,
            _ => {}
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = proc_cpu(baton.pid()) - cpu0;
    assert_eq!(seen, bytes, "the viewer saw every byte");
    let log = std::fs::read(
        baton
            .dir
            .path()
            .join("sessions")
            .join(&id)
            .join("output.log"),
    )
    .unwrap();
    assert!(
        log == expected,
        "the saved log equals what the generator wrote, byte for byte"
    );
    (wall, cpu)
}

async fn ingest(rounds: usize) {
    let mib: usize = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let bytes = mib * 1024 * 1024;
    let expected = std::process::Command::new(AGENT)
        .args(["--generate", &bytes.to_string()])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(expected.len(), bytes);
    let baton = Baton::start().await;
    let project = baton.project().await;
    let (mut raw_rate, mut raw_cpu, mut b_rate, mut b_cpu) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let (w, c) = tokio::task::spawn_blocking(move || raw_ingest(bytes))
            .await
            .unwrap();
        raw_rate.push(bytes as f64 / MB / w);
        raw_cpu.push(c * 1000.0 / (bytes as f64 / MB));
        let (w, c) = baton_ingest(&baton, &project, bytes, &expected).await;
        b_rate.push(bytes as f64 / MB / w);
        b_cpu.push(c * 1000.0 / (bytes as f64 / MB));
        eprintln!(
            "  round {round}: raw {:.0} MB/s, baton {:.0} MB/s",
            raw_rate[round], b_rate[round]
        );
    }
    let (rr, rc, br, bc) = (
        median(&mut raw_rate),
        median(&mut raw_cpu),
        median(&mut b_rate),
        median(&mut b_cpu),
    );
    println!("ingest ({mib} MiB, {rounds} rounds, medians; log verified byte for byte)");
    println!("  raw PTY loop : {rr:7.1} MB/s, reader CPU {rc:.2} ms/MB");
    println!("  baton session: {br:7.1} MB/s, server CPU {bc:.2} ms/MB (log + tail + 1 WebSocket viewer)");
    println!(
        "  ratio        : throughput {:.2}x raw, CPU {:.2}x raw",
        br / rr,
        bc / rc
    );
}

async fn roundtrip(samples: usize) {
    let baton = Baton::start().await;
    let project = baton.project().await;
    let id = baton
        .session(&project, vec![AGENT.into(), "--echo".into()])
        .await;
    let mut ws = baton.terminal(&id, "").await;
    // The replay header and whatever came before.
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while ws.next().await.is_some() {}
    })
    .await;

    let pair = native_pty_system().openpty(pty_size()).unwrap();
    let mut cmd = CommandBuilder::new(AGENT);
    cmd.arg("--echo");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let (mut raw, mut via) = (Vec::new(), Vec::new());
    let block = 100;
    for b in 0..samples / block {
        for i in 0..block {
            let key = b'a' + ((b * block + i) % 26) as u8;
            let t = Instant::now();
            std::io::Write::write_all(&mut writer, &[key]).unwrap();
            let mut got = [0u8; 1];
            loop {
                reader.read_exact(&mut got).unwrap();
                if got[0] == key {
                    break;
                }
            }
            raw.push(t.elapsed().as_secs_f64() * 1e6);
        }
        for i in 0..block {
            let key = b'a' + ((b * block + i) % 26) as u8;
            let t = Instant::now();
            ws.send(Message::binary(vec![key])).await.unwrap();
            'wait: while let Some(Ok(frame)) = ws.next().await {
                if let Message::Binary(bytes) = frame {
                    if bytes.contains(&key) {
                        break 'wait;
                    }
                }
            }
            via.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let _ = child.kill();
    let (r50, r99) = (percentile(&mut raw, 0.5), percentile(&mut raw, 0.99));
    let (b50, b99) = (percentile(&mut via, 0.5), percentile(&mut via, 0.99));
    println!("roundtrip ({samples} keystrokes each, interleaved blocks of {block})");
    println!("  raw PTY        : p50 {r50:7.0} µs, p99 {r99:7.0} µs");
    println!("  baton WebSocket: p50 {b50:7.0} µs, p99 {b99:7.0} µs");
    println!(
        "  ratio          : p50 {:.1}x raw, p99 {:.1}x raw",
        b50 / r50,
        b99 / r99
    );
}

/// 100 raw readers in this process, discarding, over the same kind of load (the CPU baseline).
fn raw_readers(n: usize, secs: f64) -> f64 {
    let mut children = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..n {
        let pair = native_pty_system().openpty(pty_size()).unwrap();
        let mut cmd = CommandBuilder::new("sh");
        cmd.args([
            "-c",
            "while :; do echo line of output from an agent; sleep 0.01; done",
        ]);
        children.push(pair.slave.spawn_command(cmd).unwrap());
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        threads.push(std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    let cpu0 = self_cpu();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let cpu = (self_cpu() - cpu0) / secs;
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    for t in threads {
        let _ = t.join();
    }
    cpu
}

async fn scale(window: f64) {
    let n = 100;
    let baton = Baton::start().await;
    let project = baton.project().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = proc_rss_mb(baton.pid());
    let mut idle = Vec::new();
    for _ in 0..n {
        idle.push(baton.session(&project, vec!["sh".into()]).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu0 = proc_cpu(baton.pid());
    tokio::time::sleep(Duration::from_secs_f64(window)).await;
    let idle_cpu = (proc_cpu(baton.pid()) - cpu0) / window;
    let shells_rss = proc_rss_mb(baton.pid());
    for id in &idle {
        baton.force_delete(id).await;
    }
    let mut busy = Vec::new();
    for _ in 0..n {
        busy.push(
            baton
                .session(&project, vec!["sh".into(), "-c".into(), TICKER.into()])
                .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (mut b_cpu, mut r_cpu) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let cpu0 = proc_cpu(baton.pid());
        tokio::time::sleep(Duration::from_secs_f64(window)).await;
        b_cpu.push((proc_cpu(baton.pid()) - cpu0) / window * 100.0);
    }
    let busy_rss = proc_rss_mb(baton.pid());
    for id in &busy {
        baton.force_delete(id).await;
    }
    for _ in 0..3 {
        r_cpu.push(
            tokio::task::spawn_blocking(move || raw_readers(n, window))
                .await
                .unwrap()
                * 100.0,
        );
    }
    let (bc, rc) = (median(&mut b_cpu), median(&mut r_cpu));
    println!("scale ({n} sessions; CPU over {window:.0} s windows, medians of 3)");
    println!("  idle server       : RSS {idle_rss:6.1} MB");
    println!(
        "  {n} idle shells   : RSS {shells_rss:6.1} MB ({:.2}x idle), CPU {:.1}%",
        shells_rss / idle_rss,
        idle_cpu * 100.0
    );
    println!(
        "  {n} printing /10ms: RSS {busy_rss:6.1} MB ({:.2}x idle), CPU {bc:.1}% of a core",
        busy_rss / idle_rss
    );
    println!("  raw readers       : CPU {rc:.1}% of a core (same load, discarding)");
    println!("  ratio             : CPU {:.2}x raw", bc / rc);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = args.is_empty();
    let want = |name: &str| all || args.iter().any(|a| a == name);
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    if want("ingest") {
        ingest(rounds).await;
    }
    if want("roundtrip") {
        roundtrip(2000).await;
    }
    if want("scale") {
        scale(5.0).await;
    }
}
