//! The queue under load, against bare spawns measured in the same run (this machine is noisy):
//!
//! - **baton**: 1,000 tasks executed at a limit of 8 with batch agents that exit at once (the
//!   scripted agent's `--batch`), queued while the queue is paused, then resumed.
//!   - *admission latency*: from the moment a task could start (a slot freed, or the resume)
//!     to its `run:started`, p50 and p99. Target: p99 < 50 ms.
//!   - *throughput*: tasks per second from the resume to the last `run:ended`.
//! - **bare**: the same 1,000 agent programs spawned through the same PTY engine (`LocalHost`),
//!   8 at a time, each waited for: what running them costs with no queue, database or events.
//!   Target: Baton's throughput ≥ 0.8× bare.
//!
//! The two alternate, a round each (`BENCH_ROUNDS`, default 3), so that both meet the machine's
//! slow and fast moments; throughput, ratio and CPU are the medians of the rounds, the latencies
//! are pooled.
//!
//! Run: `cargo bench --bench queue` (`BENCH_TASKS`, default 1000; `BENCH_LIMIT`, default 8;
//! `BENCH_ROUNDS`, default 3; `BENCH_BLOCKED`, default 0: that many more tasks executed first,
//! waiting blocked all along behind one that never runs — a pipeline's later stages).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::config::Config;
use baton::events::Event;
use baton::model::{ExecuteTask, NewAgentProfile, NewProject, NewTask, QueuePatch, QueueScope};
use baton::pty::{LocalHost, Output, PtyHost, Size, SpawnRequest};
use baton::service::Actor;

const AGENT: &str = env!("CARGO_BIN_EXE_baton-test-agent");

/// CPU seconds used so far by this process and by its waited-for children (the agents).
#[derive(Clone, Copy)]
struct Cpu {
    process: f64,
    agents: f64,
}

impl Cpu {
    fn now() -> Self {
        let used = |who| {
            // SAFETY: getrusage fills the struct it is given.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(who, &mut usage) };
            let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
            t(usage.ru_utime) + t(usage.ru_stime)
        };
        Cpu {
            process: used(libc::RUSAGE_SELF),
            agents: used(libc::RUSAGE_CHILDREN),
        }
    }

    fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            process: self.process - earlier.process,
            agents: self.agents - earlier.agents,
        }
    }

    /// "total ms (process + agents)" per task.
    fn per_task(self, tasks: usize) -> String {
        let ms = |s: f64| s * 1000.0 / tasks as f64;
        format!(
            "{:.2} ms ({:.2} + {:.2})",
            ms(self.process + self.agents),
            ms(self.process),
            ms(self.agents)
        )
    }
}

/// Tells a `perf record --control=fifo:FILE` to start or stop sampling, when `BENCH_PERF_CTL`
/// names that fifo and `BENCH_PERF_SIDE` (`baton`, the default, or `bare`) is `side`: a profile
/// of one side's measured window only, without the set-up or the other side.
fn perf_control(side: &str, command: &str) {
    let Ok(fifo) = std::env::var("BENCH_PERF_CTL") else {
        return;
    };
    if std::env::var("BENCH_PERF_SIDE").unwrap_or_else(|_| "baton".into()) != side {
        return;
    }
    use std::io::Write;
    let mut ctl = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("BENCH_PERF_CTL names perf's control fifo");
    ctl.write_all(format!("{command}\n").as_bytes())
        .expect("perf reads its control fifo");
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Admission latencies (ms), tasks per second and CPU used, all from the resume on.
async fn baton_run(tasks: usize, limit: u32) -> (Vec<f64>, f64, Cpu) {
    let dir = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("data"));
    config.port = 0;
    config.rates = baton::api::rate_limit::Rates {
        person_per_sec: 0,
        agent_per_sec: 0,
    };
    let server = baton::server::start(&config).await.expect("start baton");
    let service = server.service().clone();
    let project = service
        .create_project(
            NewProject {
                name: "bench".into(),
                base_path: Some(folder.path().display().to_string()),
                settings: None,
            },
            &Actor::User,
        )
        .await
        .unwrap()
        .id;
    let input: NewAgentProfile = serde_json::from_value(serde_json::json!({
        "id": "batch", "name": "batch", "program": AGENT, "args": ["--batch"],
        "promptMode": "none", "exitMeansDone": true,
    }))
    .unwrap();
    service
        .create_agent_profile(input, &Actor::User)
        .await
        .unwrap();
    service
        .update_queue(
            QueuePatch {
                max_concurrent: limit,
            },
            &Actor::User,
        )
        .await
        .unwrap();
    service
        .pause_queue(QueueScope::default(), true, &Actor::User)
        .await
        .unwrap();
    // A task executed by the batch agent (queued, or blocked behind its dependencies).
    let execute = |task: serde_json::Value| {
        let service = service.clone();
        async move {
            let task: NewTask = serde_json::from_value(task).unwrap();
            let id = service.create_task(task, &Actor::User).await.unwrap().id;
            let execute = ExecuteTask {
                agent_id: Some("batch".into()),
                ..Default::default()
            };
            service
                .execute_task(&id, execute, &Actor::User)
                .await
                .unwrap();
        }
    };
    // Optionally, tasks waiting behind one that never runs (`BENCH_BLOCKED`): what a pipeline's
    // later stages cost the queue while they wait.
    let blocked = std::env::var("BENCH_BLOCKED")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if blocked > 0 {
        let gate: NewTask = serde_json::from_value(serde_json::json!({
            "projectId": project, "title": "never run",
        }))
        .unwrap();
        let gate = service.create_task(gate, &Actor::User).await.unwrap().id;
        for i in 0..blocked {
            execute(serde_json::json!({
                "projectId": project, "title": format!("later {i}"), "dependsOn": [gate],
            }))
            .await;
        }
    }
    for i in 0..tasks {
        execute(serde_json::json!({ "projectId": project, "title": format!("task {i}") })).await;
    }
    let mut events = service.subscribe(&Actor::User);
    let resumed = Instant::now();
    let cpu = Cpu::now();
    perf_control("baton", "enable");
    service
        .pause_queue(QueueScope::default(), false, &Actor::User)
        .await
        .unwrap();
    // A slot frees at the resume (for each of the first `limit`) and at every run's end; a
    // start takes the earliest free slot.
    let mut free: VecDeque<Instant> = std::iter::repeat_n(resumed, limit as usize).collect();
    let mut latencies = Vec::with_capacity(tasks);
    let mut ended = 0;
    while ended < tasks {
        let published = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("the queue stalled")
            .expect("the bus");
        match &published.event {
            Event::RunStarted(_) => {
                let slot = free.pop_front().expect("never more runs than slots");
                latencies.push(slot.elapsed().as_secs_f64() * 1000.0);
            }
            Event::RunEnded(_) => {
                ended += 1;
                free.push_back(Instant::now());
            }
            _ => {}
        }
    }
    let seconds = resumed.elapsed().as_secs_f64();
    let cpu = Cpu::now().since(cpu);
    perf_control("baton", "disable");
    server.stop().await.unwrap();
    (latencies, tasks as f64 / seconds, cpu)
}

/// The same programs through the PTY engine alone, `limit` at a time.
async fn bare_run(tasks: usize, limit: usize) -> f64 {
    let host: Arc<dyn PtyHost> = Arc::new(LocalHost);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    perf_control("bare", "enable");
    let mut running = tokio::task::JoinSet::new();
    for i in 0..tasks {
        if running.len() >= limit {
            running.join_next().await.unwrap().unwrap();
        }
        let output = Arc::new(Output::open(&dir.path().join(format!("{i}.log"))).unwrap());
        let request = SpawnRequest {
            argv: vec![AGENT.into(), "--batch".into()],
            cwd: dir.path().to_path_buf(),
            env: std::env::vars().collect(),
            size: Size {
                cols: 120,
                rows: 32,
            },
        };
        let terminal = host.spawn(request, output).unwrap();
        running.spawn(async move {
            let mut exited = terminal.exited();
            let _ = exited.wait_for(Option::is_some).await;
        });
    }
    while running.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    perf_control("bare", "disable");
    tasks as f64 / seconds
}

/// One round: the bare run, then Baton's, back to back.
struct Round {
    bare: f64,
    bare_cpu: Cpu,
    ours: f64,
    ours_cpu: Cpu,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.ours / self.bare
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let tasks = env("BENCH_TASKS", 1000);
    let limit = env("BENCH_LIMIT", 8);
    let rounds = env("BENCH_ROUNDS", 3).max(1);
    // Bare and Baton alternate, a round each, so that both see the machine's slow and fast
    // moments; each figure below is the median of the rounds.
    let mut latencies = Vec::new();
    let mut measured = Vec::new();
    for round in 1..=rounds {
        let cpu = Cpu::now();
        let bare = bare_run(tasks, limit).await;
        let bare_cpu = Cpu::now().since(cpu);
        let (mut waited, ours, ours_cpu) = baton_run(tasks, limit as u32).await;
        latencies.append(&mut waited);
        let r = Round {
            bare,
            bare_cpu,
            ours,
            ours_cpu,
        };
        println!(
            "queue: round {round}/{rounds}: baton {ours:.1} tasks/s, bare {bare:.1}/s, ratio {:.2}x; CPU per task baton {}, bare {}",
            r.ratio(),
            ours_cpu.per_task(tasks),
            bare_cpu.per_task(tasks)
        );
        measured.push(r);
    }
    let (p50, p99) = (
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
    let of = |f: &dyn Fn(&Round) -> f64| {
        let mut v: Vec<f64> = measured.iter().map(f).collect();
        percentile(&mut v, 0.5)
    };
    let cpu_of = |f: &dyn Fn(&Round) -> Cpu| Cpu {
        process: of(&|r| f(r).process),
        agents: of(&|r| f(r).agents),
    };
    println!(
        "queue: {tasks} tasks at a limit of {limit}, {rounds} rounds: admission latency p50 {p50:.2} ms, p99 {p99:.2} ms (target p99 < 50 ms)"
    );
    println!(
        "queue: throughput {:.1} tasks/s; bare spawns through the PTY engine, {limit} at a time: {:.1}/s; ratio {:.2}x (median of the rounds' ratios; target >= 0.8x)",
        of(&|r| r.ours),
        of(&|r| r.bare),
        of(&Round::ratio)
    );
    println!(
        "queue: CPU per task (process + agents): baton {}, bare {}",
        cpu_of(&|r| r.ours_cpu).per_task(tasks),
        cpu_of(&|r| r.bare_cpu).per_task(tasks)
    );
    // What the queue itself costs: this process's CPU per task in Baton's run above the bare
    // run's, round by round.
    let above = of(&|r| (r.ours_cpu.process - r.bare_cpu.process) * 1000.0 / tasks as f64);
    println!(
        "queue: Baton's own CPU per task above the bare run's: {above:.2} ms (median of the rounds)"
    );
}
