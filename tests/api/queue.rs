//! Tasks that run themselves: execute, the queue's limit and order, dependency gating, cancel,
//! retry, loops, and the queue surviving a restart — with batch agents (the scripted agent's
//! `--batch` mode) over the real server. What ran when is read from `run:started` and
//! `run:ended` events.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::common::{agent_bin, wait_task, Events, Server, DEADLINE};

/// A profile of batch agents with these `--batch` options.
async fn batch_profile(s: &Server, id: &str, options: &[String], exit_means_done: bool) {
    let mut args = vec!["--batch".to_owned()];
    args.extend(options.iter().cloned());
    let r = s
        .post(
            "/api/agents",
            json!({ "id": id, "name": id, "program": agent_bin(), "args": args,
                    "promptMode": "none", "exitMeansDone": exit_means_done }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// `run:*` events as they come.
struct RunLog {
    events: Events,
    pub seen: Vec<Value>,
}

impl RunLog {
    async fn open(s: &Server) -> Self {
        let mut events = s.events().await;
        events
            .send(json!({ "type": "subscribe", "events": ["run:*", "task:updated"] }))
            .await;
        assert_eq!(events.next().await["type"], "subscribed");
        Self {
            events,
            seen: Vec::new(),
        }
    }

    /// Reads events until `done` holds over everything seen.
    async fn until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let start = std::time::Instant::now();
        while !done(&self.seen) {
            assert!(
                start.elapsed() < DEADLINE,
                "never saw {what}: {:#?}",
                self.runs()
            );
            let e = self.events.next().await;
            self.seen.push(e);
        }
    }

    /// The run events only: (event, taskId, attempt, number).
    fn runs(&self) -> Vec<(String, String)> {
        self.seen
            .iter()
            .filter(|e| e["event"].as_str().is_some_and(|n| n.starts_with("run:")))
            .map(|e| {
                (
                    e["event"].as_str().unwrap().to_owned(),
                    e["data"]["taskId"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}

async fn task_now(s: &Server, id: &str) -> Value {
    s.get(&format!("/api/tasks/{id}")).await.body
}

/// The names of queued tasks (name → id) in the order of their `queuePosition`s.
async fn in_queue_order<'a>(s: &Server, names: &BTreeMap<&'a str, String>) -> Vec<&'a str> {
    let mut at = BTreeMap::new();
    for (name, id) in names {
        let position = task_now(s, id).await["execution"]["queuePosition"].as_i64();
        assert!(at.insert(position, *name).is_none(), "{name}: {position:?}");
    }
    at.into_values().collect()
}

/// The highest number of runs alive at once, from the events in order.
fn most_at_once(runs: &[(String, String)]) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for (event, _) in runs {
        if event == "run:started" {
            now += 1;
            most = most.max(now);
        } else {
            now = now.saturating_sub(1);
        }
    }
    most
}

#[tokio::test]
async fn the_limit_is_never_exceeded_and_higher_priority_starts_first() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let log = dir.path().join("starts.log");
    let options = ["sleep=300".to_owned(), format!("log={}", log.display())];
    batch_profile(&s, "batch", &options, true).await;
    let limit = s.patch("/api/queue", json!({ "maxConcurrent": 2 })).await;
    assert_eq!(limit.status, 200);
    assert_eq!(s.post("/api/queue/pause", json!({})).await.status, 200);
    let mut names = BTreeMap::new();
    let plan = [
        ("l1", "low"),
        ("m1", "medium"),
        ("h1", "high"),
        ("l2", "low"),
        ("h2", "high"),
        ("m2", "medium"),
    ];
    for (name, priority) in plan {
        let id = s
            .task(&p, json!({ "title": name, "priority": priority }))
            .await;
        let r = s
            .post(
                &format!("/api/tasks/{id}/execute"),
                json!({ "agentId": "batch" }),
            )
            .await;
        assert_eq!(r.status, 202, "paused: it waits; {}", r.body);
        assert_eq!(r.body["status"], "queued");
        names.insert(id, name);
    }
    let queue = s.get("/api/queue").await.body;
    assert_eq!(
        queue["queued"],
        json!({ "high": 2, "medium": 2, "low": 2, "total": 6 })
    );
    assert_eq!(queue["paused"], true);
    let mut positions = BTreeMap::new();
    for (id, name) in &names {
        let t = task_now(&s, id).await;
        assert_eq!(t["status"], "queued");
        positions.insert(*name, t["execution"]["queuePosition"].as_i64().unwrap());
    }
    assert_eq!(
        positions,
        BTreeMap::from([
            ("h1", 1),
            ("h2", 2),
            ("m1", 3),
            ("m2", 4),
            ("l1", 5),
            ("l2", 6)
        ])
    );

    let mut runs = RunLog::open(&s).await;
    assert_eq!(s.post("/api/queue/resume", json!({})).await.status, 200);
    runs.until("six runs ended", |seen| {
        seen.iter().filter(|e| e["event"] == "run:ended").count() == 6
    })
    .await;
    let order: Vec<&str> = runs
        .runs()
        .iter()
        .filter(|(e, _)| e == "run:started")
        .map(|(_, task)| names[task.as_str()])
        .collect();
    assert_eq!(order, ["h1", "h2", "m1", "m2", "l1", "l2"]);
    assert_eq!(most_at_once(&runs.runs()), 2, "{:#?}", runs.runs());
    for id in names.keys() {
        let t = wait_task(&s, id, |t| t["status"] == "completed").await;
        assert_eq!(t["execution"]["state"], "completed");
        let task_runs = s.get(&format!("/api/tasks/{id}/runs")).await.body;
        assert_eq!(task_runs.as_array().unwrap().len(), 1);
        assert_eq!(task_runs[0]["endReason"], "exited");
        assert_eq!(task_runs[0]["exitCode"], 0);
    }
    let queue = s.get("/api/queue").await.body;
    assert_eq!(
        (
            queue["running"].as_i64(),
            queue["completedLastHour"].as_i64()
        ),
        (Some(0), Some(6))
    );
    assert_eq!(queue["successRate"], 1.0);
}

/// Every way of changing a queued task's priority (PATCH, the queue's priority endpoint, bulk)
/// moves it in the queue: its position, the queue's counts and the order runs start in.
#[tokio::test]
async fn a_priority_changed_while_queued_moves_the_task_in_the_queue() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "batch", &[], true).await;
    assert_eq!(
        s.patch("/api/queue", json!({ "maxConcurrent": 1 }))
            .await
            .status,
        200
    );
    assert_eq!(s.post("/api/queue/pause", json!({})).await.status, 200);
    let mut names = BTreeMap::new();
    for name in ["a", "b", "c", "d"] {
        let id = s.task(&p, json!({ "title": name })).await;
        let r = s
            .post(
                &format!("/api/tasks/{id}/execute"),
                json!({ "agentId": "batch" }),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        names.insert(name, id);
    }
    assert_eq!(in_queue_order(&s, &names).await, ["a", "b", "c", "d"]);

    let r = s
        .patch(
            &format!("/api/tasks/{}", names["d"]),
            json!({ "priority": "high" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["execution"]["queuePosition"], 1);
    assert_eq!(in_queue_order(&s, &names).await, ["d", "a", "b", "c"]);
    let r = s
        .post(
            "/api/queue/priority",
            json!({ "taskIds": [names["c"]], "priority": "high" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Both high now: c was queued before d.
    assert_eq!(in_queue_order(&s, &names).await, ["c", "d", "a", "b"]);
    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "set_priority", "taskIds": [names["a"]], "data": { "priority": "low" } }),
        )
        .await;
    assert_eq!(r.body["affectedCount"], 1, "{}", r.body);
    assert_eq!(in_queue_order(&s, &names).await, ["c", "d", "b", "a"]);
    assert_eq!(
        s.get("/api/queue").await.body["queued"],
        json!({ "high": 2, "medium": 1, "low": 1, "total": 4 })
    );

    let mut runs = RunLog::open(&s).await;
    assert_eq!(s.post("/api/queue/resume", json!({})).await.status, 200);
    runs.until("four runs ended", |seen| {
        seen.iter().filter(|e| e["event"] == "run:ended").count() == 4
    })
    .await;
    let by_id: BTreeMap<&str, &str> = names.iter().map(|(n, id)| (id.as_str(), *n)).collect();
    let order: Vec<&str> = runs
        .runs()
        .iter()
        .filter(|(e, _)| e == "run:started")
        .map(|(_, task)| by_id[task.as_str()])
        .collect();
    assert_eq!(order, ["c", "d", "b", "a"]);
}

#[tokio::test]
async fn a_chain_runs_in_order_and_a_failed_first_link_blocks_the_rest_with_reasons() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "ok", &["sleep=100".into()], true).await;
    batch_profile(&s, "fails", &["exit=3".into()], true).await;

    // A → B → C, all executed at once: they run one after the other.
    let a = s.task(&p, json!({ "title": "A" })).await;
    let b = s.task(&p, json!({ "title": "B", "dependsOn": [a] })).await;
    let c = s.task(&p, json!({ "title": "C", "dependsOn": [b] })).await;
    let mut runs = RunLog::open(&s).await;
    for id in [&c, &b, &a] {
        s.post(
            &format!("/api/tasks/{id}/execute"),
            json!({ "agentId": "ok" }),
        )
        .await;
    }
    let blocked = task_now(&s, &c).await;
    assert!(["blocked", "queued", "in_progress", "completed"]
        .contains(&blocked["status"].as_str().unwrap()));
    runs.until("three runs ended", |seen| {
        seen.iter().filter(|e| e["event"] == "run:ended").count() == 3
    })
    .await;
    let sequence: Vec<(String, String)> = runs.runs();
    assert_eq!(
        sequence,
        [
            ("run:started".into(), a.clone()),
            ("run:ended".into(), a.clone()),
            ("run:started".into(), b.clone()),
            ("run:ended".into(), b.clone()),
            ("run:started".into(), c.clone()),
            ("run:ended".into(), c.clone()),
        ]
    );
    wait_task(&s, &c, |t| t["status"] == "completed").await;

    // The same chain with a failing first link: B and C stay blocked and say why.
    let a = s.task(&p, json!({ "title": "A2" })).await;
    let b = s.task(&p, json!({ "title": "B2", "dependsOn": [a] })).await;
    let c = s.task(&p, json!({ "title": "C2", "dependsOn": [b] })).await;
    for id in [&c, &b] {
        let r = s
            .post(
                &format!("/api/tasks/{id}/execute"),
                json!({ "agentId": "ok" }),
            )
            .await;
        assert_eq!(r.status, 202);
        assert_eq!(r.body["status"], "blocked");
    }
    let waiting = task_now(&s, &b).await;
    assert_eq!(waiting["status"], "blocked");
    assert_eq!(
        waiting["execution"]["reason"],
        format!("waiting for 'A2' ({a})")
    );
    s.post(
        &format!("/api/tasks/{a}/execute"),
        json!({ "agentId": "fails" }),
    )
    .await;
    let failed = wait_task(&s, &a, |t| t["status"] == "failed").await;
    assert_eq!(
        failed["execution"]["reason"],
        "its agent exited with code 3"
    );
    let b_now = wait_task(&s, &b, |t| {
        t["execution"]["reason"] == format!("dependency 'A2' ({a}) failed")
    })
    .await;
    assert_eq!(b_now["status"], "blocked");
    let c_now = task_now(&s, &c).await;
    assert_eq!(c_now["status"], "blocked");
    assert_eq!(
        c_now["execution"]["reason"],
        format!("waiting for 'B2' ({b})")
    );
    assert!(s
        .get(&format!("/api/tasks/{b}/runs"))
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
}

/// Executes `id` with the `ok` agent while `dependency` is not done: it waits, blocked.
async fn blocked_behind(s: &Server, id: &str, dependency: &str) {
    let r = s
        .post(
            &format!("/api/tasks/{id}/execute"),
            json!({ "agentId": "ok" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (202, Some("blocked")),
        "{}",
        r.body
    );
    let reason = task_now(s, id).await["execution"]["reason"].clone();
    assert!(
        reason.as_str().unwrap_or_default().contains(dependency),
        "{reason}"
    );
}

#[tokio::test]
async fn a_blocked_task_starts_however_its_dependencies_stop_holding_it_back() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "ok", &[], true).await;
    let done = |t: &Value| t["status"] == "completed";

    // Its dependency marked done by hand.
    let a = s.task(&p, json!({ "title": "A" })).await;
    let b = s.task(&p, json!({ "title": "B", "dependsOn": [a] })).await;
    blocked_behind(&s, &b, &a).await;
    let r = s
        .patch(&format!("/api/tasks/{a}"), json!({ "status": "completed" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    wait_task(&s, &b, done).await;

    // Its dependency taken off the task.
    let c = s.task(&p, json!({ "title": "C" })).await;
    let d = s.task(&p, json!({ "title": "D", "dependsOn": [c] })).await;
    blocked_behind(&s, &d, &c).await;
    let r = s
        .put(
            &format!("/api/tasks/{d}/dependencies"),
            json!({ "dependsOn": [] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    wait_task(&s, &d, done).await;

    // Its dependency deleted.
    let e = s.task(&p, json!({ "title": "E" })).await;
    let f = s.task(&p, json!({ "title": "F", "dependsOn": [e] })).await;
    blocked_behind(&s, &f, &e).await;
    assert_eq!(s.delete(&format!("/api/tasks/{e}")).await.status, 200);
    wait_task(&s, &f, done).await;

    // Its dependency cancelled by hand (it stays blocked, saying so), then run and done.
    let g = s.task(&p, json!({ "title": "G" })).await;
    let h = s.task(&p, json!({ "title": "H", "dependsOn": [g] })).await;
    blocked_behind(&s, &h, &g).await;
    let r = s
        .patch(&format!("/api/tasks/{g}"), json!({ "status": "cancelled" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h_now = wait_task(&s, &h, |t| {
        t["execution"]["reason"] == format!("dependency 'G' ({g}) was cancelled")
    })
    .await;
    assert_eq!(h_now["status"], "blocked");
    let r = s
        .post(
            &format!("/api/tasks/{g}/execute"),
            json!({ "agentId": "ok" }),
        )
        .await;
    assert!(r.status == 202 || r.status == 200, "{}", r.body);
    wait_task(&s, &g, done).await;
    wait_task(&s, &h, done).await;
}

#[tokio::test]
async fn a_cancelled_run_holds_its_slot_until_its_agent_has_quit() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    // An agent that takes 1.5 s to quit once asked to stop.
    batch_profile(
        &s,
        "slow",
        &["sleep=30000".into(), "linger=1500".into()],
        true,
    )
    .await;
    batch_profile(&s, "ok", &[], true).await;
    s.patch("/api/queue", json!({ "maxConcurrent": 1 })).await;
    let mut runs = RunLog::open(&s).await;
    let a = s.task(&p, json!({ "title": "slow to quit" })).await;
    s.post(
        &format!("/api/tasks/{a}/execute"),
        json!({ "agentId": "slow" }),
    )
    .await;
    runs.until("a started", |seen| {
        seen.iter()
            .any(|e| e["event"] == "run:started" && e["data"]["taskId"] == a.as_str())
    })
    .await;
    let b = s.task(&p, json!({ "title": "next" })).await;
    let r = s
        .post(
            &format!("/api/tasks/{b}/execute"),
            json!({ "agentId": "ok" }),
        )
        .await;
    assert_eq!(r.body["status"], "queued", "{}", r.body);

    // While a's agent lingers, the queue is woken (another task executed): b must still wait.
    let cancel_path = format!("/api/tasks/{a}/cancel");
    let cancel = s.post(&cancel_path, json!({}));
    let meanwhile = async {
        wait_task(&s, &a, |t| t["status"] == "cancelled").await;
        let c = s.task(&p, json!({ "title": "wakes the queue" })).await;
        s.post(
            &format!("/api/tasks/{c}/execute"),
            json!({ "agentId": "ok" }),
        )
        .await;
        c
    };
    let (cancelled, c) = tokio::join!(cancel, meanwhile);
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    wait_task(&s, &b, |t| t["status"] == "completed").await;
    wait_task(&s, &c, |t| t["status"] == "completed").await;
    runs.until("three runs ended", |seen| {
        seen.iter().filter(|e| e["event"] == "run:ended").count() == 3
    })
    .await;
    let order = runs.runs();
    let a_ended = order
        .iter()
        .position(|(e, t)| e == "run:ended" && *t == a)
        .expect("a's run ended");
    for other in [&b, &c] {
        let started = order
            .iter()
            .position(|(e, t)| e == "run:started" && t == other)
            .expect("started");
        assert!(a_ended < started, "{order:#?}");
    }
}

#[tokio::test]
async fn queued_and_running_tasks_are_cancelled() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "slow", &["sleep=60000".into()], true).await;
    s.patch("/api/queue", json!({ "maxConcurrent": 1 })).await;
    let running = s.task(&p, json!({ "title": "running" })).await;
    let queued = s.task(&p, json!({ "title": "queued" })).await;
    let started = s
        .post(
            &format!("/api/tasks/{running}/execute"),
            json!({ "agentId": "slow" }),
        )
        .await;
    assert_eq!(
        started.status, 200,
        "a free slot: it starts at once; {}",
        started.body
    );
    assert_eq!(started.body["status"], "running");
    assert_eq!(started.body["run"]["number"], 1);
    assert_eq!(started.body["task"]["status"], "in_progress");
    let waits = s
        .post(
            &format!("/api/tasks/{queued}/execute"),
            json!({ "agentId": "slow" }),
        )
        .await;
    assert_eq!(
        (waits.status, waits.body["queuePosition"].as_i64()),
        (202, Some(1))
    );

    let r = s
        .post(
            &format!("/api/tasks/{queued}/cancel"),
            json!({ "reason": "not needed" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["execution"]["reason"], "not needed");
    let again = s
        .post(&format!("/api/tasks/{queued}/cancel"), json!({}))
        .await;
    assert_eq!(
        (again.status, again.body["code"].as_str()),
        (409, Some("not_executing"))
    );

    let r = s
        .post(&format!("/api/tasks/{running}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    let task_runs = s.get(&format!("/api/tasks/{running}/runs")).await.body;
    assert_eq!(task_runs[0]["endReason"], "cancelled");
    assert!(s
        .get(&format!("/api/tasks/{queued}/runs"))
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
    let queue = s.get("/api/queue").await.body;
    assert_eq!(
        (queue["running"].as_i64(), queue["queued"]["total"].as_i64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn failures_are_retried_by_attempt_and_a_retry_is_the_next_attempt() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "fails", &["exit=1".into()], true).await;
    let t = s.task(&p, json!({ "title": "flaky" })).await;
    s.post(
        &format!("/api/tasks/{t}/execute"),
        json!({ "agentId": "fails", "maxAttempts": 2 }),
    )
    .await;
    let failed = wait_task(&s, &t, |t| t["status"] == "failed").await;
    assert_eq!(
        failed["execution"]["reason"],
        "its agent exited with code 1 (attempt 2 of 2)"
    );
    let attempts: Vec<(i64, i64)> = s
        .get(&format!("/api/tasks/{t}/runs"))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["attempt"].as_i64().unwrap(),
                r["number"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts, [(1, 1), (2, 2)], "one session, runs 1 and 2");

    let r = s.post(&format!("/api/tasks/{t}/retry"), json!({})).await;
    assert!([200, 202].contains(&r.status), "{}", r.body);
    assert_eq!(r.body["task"]["execution"]["attempt"], 3);
    wait_task(&s, &t, |t| t["status"] == "failed").await;
    let runs = s.get(&format!("/api/tasks/{t}/runs")).await.body;
    assert_eq!(runs.as_array().unwrap().len(), 3);
    assert_eq!(runs[2]["attempt"], 3);
    let retry_again = s
        .post(
            &format!("/api/tasks/{t}/execute"),
            json!({ "agentId": "nope" }),
        )
        .await;
    assert_eq!(
        (
            retry_again.status,
            retry_again.body["details"]["field"].as_str()
        ),
        (400, Some("agentId"))
    );
    let not_failed = s.task(&p, json!({})).await;
    let r = s
        .post(&format!("/api/tasks/{not_failed}/retry"), json!({}))
        .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn a_loop_restarts_until_the_agent_marks_the_task_done() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let count = dir.path().join("count");
    let options = [format!("count={}", count.display()), "done-at=3".into()];
    batch_profile(&s, "looper", &options, false).await;
    let t = s.task(&p, json!({ "title": "until green" })).await;
    s.post(
        &format!("/api/tasks/{t}/execute"),
        json!({ "agentId": "looper", "loop": { "maxRuns": 5, "cooldownMs": 10 } }),
    )
    .await;
    let done = wait_task(&s, &t, |t| t["execution"]["state"] == "completed").await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["execution"]["runs"], 3);
    let runs = s.get(&format!("/api/tasks/{t}/runs")).await.body;
    let numbers: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [1, 2, 3],
        "stopped exactly at the run that marked it done"
    );
    let sessions: std::collections::BTreeSet<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(sessions.len(), 1, "every run in the same session");
    assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "3");

    // Reopened, its loop runs again (and marks it done on its next run: the count is past 3).
    let r = s.post(&format!("/api/tasks/{t}/resume"), json!({})).await;
    assert!([200, 202].contains(&r.status), "{}", r.body);
    wait_task(&s, &t, |t| {
        t["status"] == "completed" && t["execution"]["attempt"] == 2
    })
    .await;
    assert_eq!(
        s.get(&format!("/api/tasks/{t}/runs"))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // A loop that never gets there fails at its limit.
    let never = s.task(&p, json!({ "title": "never" })).await;
    batch_profile(&s, "idle", &[], false).await;
    s.post(
        &format!("/api/tasks/{never}/execute"),
        json!({ "agentId": "idle", "loop": { "maxRuns": 2 } }),
    )
    .await;
    let failed = wait_task(&s, &never, |t| t["status"] == "failed").await;
    assert_eq!(
        failed["execution"]["reason"],
        "ran 2 time(s) without being marked done"
    );
}

#[tokio::test]
async fn queued_work_survives_a_restart_and_admission_resumes() {
    let s = Server::start().await;
    let (p, dir) = s.project_with_folder().await;
    let count = dir.path().join("count");
    // Its first run takes long; later runs finish at once.
    let slow_then_done = [
        format!("count={}", count.display()),
        "done-at=2".into(),
        "sleep=1500".into(),
    ];
    batch_profile(&s, "first-slow", &slow_then_done, true).await;
    batch_profile(&s, "quick", &[], true).await;
    s.patch("/api/queue", json!({ "maxConcurrent": 1 })).await;
    let first = s.task(&p, json!({ "title": "first" })).await;
    let second = s.task(&p, json!({ "title": "second" })).await;
    s.post(
        &format!("/api/tasks/{first}/execute"),
        json!({ "agentId": "first-slow" }),
    )
    .await;
    let r = s
        .post(
            &format!("/api/tasks/{second}/execute"),
            json!({ "agentId": "quick" }),
        )
        .await;
    assert_eq!(r.body["status"], "queued");

    let s = s.restart().await;
    // The interrupted run is recorded so, and its task runs again; the queued one follows.
    let done = wait_task(&s, &second, |t| t["status"] == "completed").await;
    assert_eq!(done["execution"]["state"], "completed");
    let first_runs = s.get(&format!("/api/tasks/{first}/runs")).await.body;
    assert_eq!(first_runs[0]["endReason"], "interrupted");
    assert!(first_runs.as_array().unwrap().len() >= 2, "{first_runs}");
    wait_task(&s, &first, |t| t["status"] == "completed").await;
    assert_eq!(
        s.get("/api/queue").await.body["maxConcurrent"],
        1,
        "settings are kept"
    );
}

#[tokio::test]
async fn bad_execute_input_is_a_400_naming_the_field_and_changes_nothing() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "b", &[], true).await;
    let t = s.task(&p, json!({})).await;
    for (body, field) in [
        (json!({ "agentId": "b", "maxAttempts": 0 }), "maxAttempts"),
        (json!({ "agentId": "b", "maxAttempts": 101 }), "maxAttempts"),
        (
            json!({ "agentId": "b", "loop": { "maxRuns": 0 } }),
            "loop.maxRuns",
        ),
        (
            json!({ "agentId": "b", "loop": { "maxRuns": 2, "cooldownMs": 86400001u64 } }),
            "loop.cooldownMs",
        ),
        (json!({}), "agentId"),
        (json!({ "agentId": "missing" }), "agentId"),
        (json!({ "agentId": "b", "priority": "urgent" }), "priority"),
        (json!({ "agentId": "b", "bogus": 1 }), "bogus"),
    ] {
        let r = s
            .post(&format!("/api/tasks/{t}/execute"), body.clone())
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.body);
    }
    let after = task_now(&s, &t).await;
    assert_eq!(after["status"], "pending");
    assert!(after["execution"].is_null());
    let r = s.patch("/api/queue", json!({ "maxConcurrent": 0 })).await;
    assert_eq!(
        (r.status, r.body["details"]["field"].as_str()),
        (400, Some("maxConcurrent"))
    );
    let r = s
        .delete_with("/api/queue", json!({ "confirm": false }))
        .await;
    assert_eq!(
        (r.status, r.body["details"]["field"].as_str()),
        (400, Some("confirm"))
    );
}

#[tokio::test]
async fn bulk_changes_only_the_tasks_it_can_and_says_why_for_the_others() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let other = s.project("other").await;
    let a = s.task(&p, json!({ "title": "a", "tags": ["keep"] })).await;
    let b = s.task(&p, json!({ "title": "b" })).await;
    let mut events = s.events().await;
    events
        .send(json!({ "type": "subscribe", "events": ["task:updated", "task:deleted"] }))
        .await;
    events.next().await;

    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "update_status", "taskIds": [a, "task_missing", b, a],
                    "data": { "status": "in_progress" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["affectedCount"], 2);
    assert_eq!(r.body["successful"], json!([a, b]));
    assert_eq!(r.body["failed"][0]["id"], "task_missing");
    assert_eq!(r.body["failed"][0]["code"], "not_found");
    events.expect(&["task:updated", "task:updated"]).await;
    for id in [&a, &b] {
        assert_eq!(task_now(&s, id).await["status"], "in_progress");
    }

    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "add_tags", "taskIds": [a, b], "data": { "tags": ["x", "keep"] } }),
        )
        .await;
    assert_eq!(r.body["affectedCount"], 2);
    assert_eq!(task_now(&s, &a).await["tags"], json!(["keep", "x"]));
    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "remove_tags", "taskIds": [a], "data": { "tags": ["keep"] } }),
        )
        .await;
    assert_eq!(r.body["affectedCount"], 1);
    assert_eq!(task_now(&s, &a).await["tags"], json!(["x"]));

    // Bad data: a 400 naming the field, and nothing changed.
    for (body, field) in [
        (
            json!({ "operation": "update_status", "taskIds": [a], "data": { "status": "done" } }),
            "data.status",
        ),
        (
            json!({ "operation": "set_priority", "taskIds": [a] }),
            "data",
        ),
        (
            json!({ "operation": "add_tags", "taskIds": [a], "data": { "tags": [""] } }),
            "data.tags",
        ),
        (json!({ "operation": "delete", "taskIds": [] }), "taskIds"),
        (
            json!({ "operation": "explode", "taskIds": [a] }),
            "operation",
        ),
    ] {
        let r = s.post("/api/tasks/bulk", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.body);
    }
    assert_eq!(task_now(&s, &a).await["status"], "in_progress");

    // Deleting across projects, as the person: each task on its own.
    let o = s.task(&other, json!({ "title": "theirs" })).await;
    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "delete", "taskIds": [o, b] }),
        )
        .await;
    assert_eq!(r.body["successful"], json!([o, b]));
    assert_eq!(s.get(&format!("/api/tasks/{b}")).await.status, 404);
}

/// Bulk `execute` queues every task it can (one round then starts what the limit allows) and
/// says why for the others; bulk `cancel` stops a running task and takes a queued one out.
#[tokio::test]
async fn bulk_execute_queues_the_tasks_it_can_and_bulk_cancel_stops_them() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "slow", &["sleep=60000".into()], true).await;
    assert_eq!(
        s.patch("/api/queue", json!({ "maxConcurrent": 1 }))
            .await
            .status,
        200
    );
    let [a, b, c, done] = ["a", "b", "c", "done"].map(|t| json!({ "title": t }));
    let (a, b, c, done) = (
        s.task(&p, a).await,
        s.task(&p, b).await,
        s.task(&p, c).await,
        s.task(&p, done).await,
    );
    let r = s
        .patch(
            &format!("/api/tasks/{done}"),
            json!({ "status": "completed" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut runs = RunLog::open(&s).await;

    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "execute", "taskIds": [a, "task_missing", done, b, c],
                    "data": { "agentId": "slow" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["successful"], json!([a, b, c]), "{}", r.body);
    let failed: Vec<(&str, &str)> = r.body["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [("task_missing", "not_found"), (&*done, "completed")]
    );
    // The round ran before the answer: the first task runs, the others wait in order.
    assert_eq!(task_now(&s, &a).await["status"], "in_progress");
    for (id, position) in [(&b, 1), (&c, 2)] {
        let t = task_now(&s, id).await;
        assert_eq!(t["status"], "queued");
        assert_eq!(t["execution"]["queuePosition"], position);
    }
    assert_eq!(task_now(&s, &done).await["status"], "completed");

    let r = s
        .post(
            "/api/tasks/bulk",
            json!({ "operation": "cancel", "taskIds": [a, b, "task_missing"],
                    "data": { "reason": "not now" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["successful"], json!([a, b]), "{}", r.body);
    assert_eq!(r.body["failed"][0]["id"], "task_missing");
    for id in [&a, &b] {
        let t = task_now(&s, id).await;
        assert_eq!(t["status"], "cancelled");
        assert_eq!(t["execution"]["reason"], "not now");
    }
    // a's run was stopped: its slot goes to c.
    let c_started = |seen: &[Value]| {
        seen.iter()
            .any(|e| e["event"] == "run:started" && e["data"]["taskId"] == c.as_str())
    };
    runs.until("c started", c_started).await;
    let order: Vec<(String, String)> = runs.runs();
    let a_ended = order
        .iter()
        .position(|(e, t)| e == "run:ended" && *t == a)
        .expect("a's run ended");
    let c_start = order
        .iter()
        .position(|(e, t)| e == "run:started" && *t == c)
        .unwrap();
    assert!(a_ended < c_start, "{order:#?}");
    assert!(!order.iter().any(|(e, t)| e == "run:started" && *t == b));
    assert_eq!(most_at_once(&order), 1, "{order:#?}");
    let r = s.post(&format!("/api/tasks/{c}/cancel"), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn project_stats_count_tasks_runs_the_queue_and_messages() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "quick", &[], true).await;
    batch_profile(&s, "fails", &["exit=2".into()], true).await;
    let done = s.task(&p, json!({ "title": "done" })).await;
    let broken = s.task(&p, json!({ "title": "broken" })).await;
    s.task(&p, json!({ "title": "waiting", "dependsOn": [broken] }))
        .await;
    s.post(
        &format!("/api/tasks/{done}/execute"),
        json!({ "agentId": "quick" }),
    )
    .await;
    s.post(
        &format!("/api/tasks/{broken}/execute"),
        json!({ "agentId": "fails" }),
    )
    .await;
    wait_task(&s, &done, |t| t["status"] == "completed").await;
    wait_task(&s, &broken, |t| t["status"] == "failed").await;
    s.post(
        "/api/messages",
        json!({ "projectId": p, "type": "FACT", "body": "héllo" }),
    )
    .await;
    let stats = s.get(&format!("/api/projects/{p}/stats")).await.body;
    assert_eq!(stats["tasks"]["completed"], 1);
    assert_eq!(stats["tasks"]["failed"], 1);
    assert_eq!(stats["tasks"]["pending"], 1);
    assert_eq!(stats["tasks"]["blocked"], 0);
    assert_eq!(stats["runs"]["exited"], 2);
    assert_eq!(stats["runs"]["cancelled"], 0);
    assert_eq!(stats["runningSessions"], 0);
    assert_eq!(
        (stats["queued"].as_i64(), stats["blocked"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(stats["messages"], json!({ "count": 1, "bytes": 6 }));
    assert_eq!(s.get("/api/projects/nope/stats").await.status, 404);
}

#[tokio::test]
async fn a_follow_up_task_links_to_its_question_and_replies_in_the_thread() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let q = s
        .post(
            "/api/messages",
            json!({ "projectId": p, "type": "QUESTION", "body": "Should we cache this?" }),
        )
        .await
        .id();
    let t = s
        .post(
            "/api/tasks",
            json!({ "projectId": p, "title": "Add a cache", "threadParent": { "messageId": q } }),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    assert_eq!(t.body["threadParent"], json!({ "messageId": q }));
    let id = t.id();
    let messages = s.get(&format!("/api/messages?projectId={p}")).await.body;
    let reply = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["parentIds"] == json!([q]))
        .expect("a reply in the thread");
    assert_eq!(reply["taskId"], id);
    assert!(reply["body"].as_str().unwrap().contains(&id));

    let progress = s
        .post(
            "/api/messages",
            json!({ "projectId": p, "type": "PROGRESS", "body": "50%" }),
        )
        .await
        .id();
    let other = s.project("other").await;
    let elsewhere = s
        .post(
            "/api/messages",
            json!({ "projectId": other, "type": "FACT", "body": "x" }),
        )
        .await
        .id();
    for parent in [progress.as_str(), elsewhere.as_str(), "msg_missing"] {
        let r = s
            .post(
                "/api/tasks",
                json!({ "projectId": p, "title": "x", "threadParent": { "messageId": parent } }),
            )
            .await;
        assert_eq!(r.status, 400, "{parent}: {}", r.body);
        assert_eq!(r.body["details"]["field"], "threadParent.messageId");
    }
    let all = s.get(&format!("/api/tasks?projectId={p}")).await.body;
    assert_eq!(all.as_array().unwrap().len(), 1, "nothing half-written");
}

#[tokio::test]
async fn the_cli_and_mcp_run_cancel_and_retry_tasks_and_drive_the_queue() {
    use crate::cli::{baton, ok};
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    batch_profile(&s, "slow", &["sleep=60000".into()], true).await;
    batch_profile(&s, "quick", &[], true).await;

    // The CLI, from outside.
    let limit = ok(&s, &["queue", "limit", "1", "--json"]).await;
    assert!(
        limit.stdout.contains("\"maxConcurrent\": 1"),
        "{}",
        limit.stdout
    );
    let t = s.task(&p, json!({ "title": "by the cli" })).await;
    let run = ok(
        &s,
        &["task", "run", &t, "--agent", "slow", "--attempts", "2"],
    )
    .await;
    assert!(run.stdout.contains("running"), "{}", run.stdout);
    let waiting = s.task(&p, json!({ "title": "second" })).await;
    let queued = ok(&s, &["task", "run", &waiting, "--agent", "quick"]).await;
    assert_eq!(
        queued.stdout.trim(),
        format!("{waiting} is queued (position 1)")
    );
    let status = ok(&s, &["queue", "status"]).await;
    assert!(
        status
            .stdout
            .starts_with("running: 1 of 1 running, 1 queued"),
        "{}",
        status.stdout
    );
    ok(&s, &["queue", "pause"]).await;
    let cleared = baton(&s, &["queue", "clear"]).await;
    assert_ne!(cleared.code, 0, "clearing needs --yes");
    let cleared = ok(&s, &["queue", "clear", "--yes"]).await;
    assert_eq!(cleared.stdout.trim(), "1 task(s) back to pending");
    assert_eq!(task_now(&s, &waiting).await["status"], "pending");
    ok(&s, &["queue", "resume"]).await;
    let cancelled = ok(&s, &["task", "cancel", &t, "--reason", "enough"]).await;
    assert_eq!(cancelled.stdout.trim(), format!("{t} is cancelled"));
    let runs = ok(&s, &["task", "runs", &t, "--json"]).await;
    let runs: Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(runs[0]["endReason"], "cancelled");
    let retried = ok(&s, &["task", "retry", &t, "--json"]).await;
    let retried: Value = serde_json::from_str(&retried.stdout).unwrap();
    assert_eq!(retried["task"]["execution"]["attempt"], 2);
    ok(&s, &["task", "cancel", &t]).await;

    // MCP, as an agent of the project.
    let sid = s
        .post("/api/sessions", json!({ "projectId": p }))
        .await
        .id();
    let own = s.task(&p, json!({ "title": "by an agent" })).await;
    let mut mcp = crate::mcp::Mcp::initialized(&[
        ("BATON_API_URL", &s.url),
        ("BATON_TOKEN", &s.token),
        ("BATON_PROJECT_ID", &p),
        ("BATON_SESSION_ID", &sid),
        ("BATON_TASK_IDS", &own),
    ])
    .await;
    let (error, text) = mcp
        .call("execute_task", json!({ "agentId": "quick" }))
        .await;
    assert!(!error, "{text}");
    wait_task(&s, &own, |t| t["status"] == "completed").await;
    let other = s.task(&p, json!({ "title": "to cancel" })).await;
    s.post("/api/queue/pause", json!({})).await;
    s.post(
        &format!("/api/tasks/{other}/execute"),
        json!({ "agentId": "quick" }),
    )
    .await;
    let (error, text) = mcp
        .call(
            "cancel_task",
            json!({ "taskId": other, "reason": "changed my mind" }),
        )
        .await;
    assert!(!error, "{text}");
    assert_eq!(task_now(&s, &other).await["status"], "cancelled");
    let (error, text) = mcp.call("cancel_task", json!({ "taskId": other })).await;
    assert!(error && text.contains("not queued"), "{text}");
}

#[tokio::test]
async fn a_project_limit_and_a_project_pause_hold_back_that_project_only() {
    let s = Server::start().await;
    let (busy, _dir) = s.project_with_folder().await;
    let r = s
        .patch(
            &format!("/api/projects/{busy}"),
            json!({ "settings": { "maxConcurrent": 1, "defaultAgentId": "slow" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (free, _dir2) = s.project_with_folder().await;
    batch_profile(&s, "slow", &["sleep=60000".into()], true).await;
    let a = s.task(&busy, json!({ "title": "a" })).await;
    let b = s.task(&busy, json!({ "title": "b" })).await;
    let c = s.task(&free, json!({ "title": "c" })).await;
    // No agentId: the project's defaultAgentId.
    assert_eq!(
        s.post(&format!("/api/tasks/{a}/execute"), json!({}))
            .await
            .body["status"],
        "running"
    );
    assert_eq!(
        s.post(&format!("/api/tasks/{b}/execute"), json!({}))
            .await
            .body["status"],
        "queued",
        "its project is at its limit"
    );
    let r = s
        .post(
            &format!("/api/tasks/{c}/execute"),
            json!({ "agentId": "slow" }),
        )
        .await;
    assert_eq!(
        r.body["status"], "running",
        "another project is not held back: {}",
        r.body
    );

    // One project paused: its queued task waits while the other project's starts.
    assert_eq!(
        s.post("/api/queue/pause", json!({ "projectId": free }))
            .await
            .body["pausedProjects"],
        json!([free])
    );
    let d = s.task(&free, json!({ "title": "d" })).await;
    assert_eq!(
        s.post(
            &format!("/api/tasks/{d}/execute"),
            json!({ "agentId": "slow" })
        )
        .await
        .body["status"],
        "queued"
    );
    s.post(&format!("/api/tasks/{a}/cancel"), json!({})).await;
    wait_task(&s, &b, |t| t["status"] == "in_progress").await;
    assert_eq!(task_now(&s, &d).await["status"], "queued");
    s.post("/api/queue/resume", json!({ "projectId": free }))
        .await;
    wait_task(&s, &d, |t| t["status"] == "in_progress").await;
    let r = s
        .post("/api/queue/pause", json!({ "projectId": "proj_missing" }))
        .await;
    assert_eq!(
        (r.status, r.body["details"]["field"].as_str()),
        (400, Some("projectId"))
    );
    for id in [&b, &c, &d] {
        s.post(&format!("/api/tasks/{id}/cancel"), json!({})).await;
    }
}

#[tokio::test]
async fn a_tasks_runs_include_those_of_sessions_started_by_hand_for_it() {
    let s = Server::start().await;
    let (p, _dir) = s.project_with_folder().await;
    let t = s.task(&p, json!({ "title": "by hand" })).await;
    let other = s.task(&p, json!({ "title": "other" })).await;
    let sid = s
        .post(
            "/api/sessions",
            json!({ "projectId": p, "taskIds": [t], "command": [agent_bin(), "--batch"] }),
        )
        .await
        .id();
    s.wait_session(&sid, |x| x["status"] == "completed").await;
    let runs = s.get(&format!("/api/tasks/{t}/runs")).await.body;
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(
        (runs[0]["sessionId"].as_str(), runs[0]["taskId"].as_str()),
        (Some(sid.as_str()), None)
    );
    let output = s
        .get(&format!(
            "/api/runs/{}/output",
            runs[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(output.status, 200);
    assert!(s
        .get(&format!("/api/tasks/{other}/runs"))
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn one_round_starts_each_task_with_its_own_project_and_profile() {
    // A round reads its starts' projects and profiles together: each start must still get its
    // own, and a profile deleted while its task was queued fails that task alone.
    let s = Server::start().await;
    let (p1, dir1) = s.project_with_folder().await;
    let (p2, dir2) = s.project_with_folder().await;
    let marker = |dir: &tempfile::TempDir| format!("log={}", dir.path().join("ran-here").display());
    batch_profile(&s, "one", &[marker(&dir1)], true).await;
    batch_profile(&s, "two", &[marker(&dir2)], true).await;
    batch_profile(&s, "gone", &[], true).await;
    s.patch("/api/queue", json!({ "maxConcurrent": 4 })).await;
    assert_eq!(s.post("/api/queue/pause", json!({})).await.status, 200);
    let a = s.task(&p1, json!({ "title": "a" })).await;
    let b = s.task(&p2, json!({ "title": "b" })).await;
    let c = s.task(&p2, json!({ "title": "c" })).await;
    for (task, agent) in [(&a, "one"), (&b, "gone"), (&c, "two")] {
        let r = s
            .post(
                &format!("/api/tasks/{task}/execute"),
                json!({ "agentId": agent }),
            )
            .await;
        assert_eq!(r.body["status"], "queued", "{}", r.body);
    }
    assert_eq!(s.delete("/api/agents/gone").await.status, 200);
    assert_eq!(s.post("/api/queue/resume", json!({})).await.status, 200);

    wait_task(&s, &a, |t| t["status"] == "completed").await;
    wait_task(&s, &c, |t| t["status"] == "completed").await;
    let failed = wait_task(&s, &b, |t| t["status"] == "failed").await;
    let reason = failed["execution"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("could not start") && reason.contains("gone"),
        "{failed}"
    );
    // Each agent ran in its own project's folder, with its own profile's arguments.
    for (task, dir) in [(&a, &dir1), (&c, &dir2)] {
        let runs = s.get(&format!("/api/tasks/{task}/runs")).await.body;
        let session = s
            .get(&format!(
                "/api/sessions/{}",
                runs[0]["sessionId"].as_str().unwrap()
            ))
            .await
            .body;
        assert_eq!(
            session["cwd"].as_str().map(std::path::PathBuf::from),
            Some(dir.path().to_path_buf()),
            "{session}"
        );
        let log = std::fs::read_to_string(dir.path().join("ran-here")).unwrap_or_default();
        assert!(
            log.contains(task.as_str()),
            "{task} ran with another profile: {log:?}"
        );
    }
}
