//! Counters and gauges for `GET /metrics` (Prometheus text format, written by the `prometheus`
//! crate's encoder, never by hand).
//!
//! The doors and the service layer count what passes through them (requests, WebSocket clients,
//! published events, ended sessions, webhook deliveries); what is a state rather than a flow
//! (sessions by status, running processes, output bytes) is read when scraped. This module knows
//! nothing of HTTP, the store or the PTY engine: callers hand it numbers.

use prometheus::{
    Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every Baton metric, in one registry of its own (nothing global).
pub struct Metrics {
    registry: Registry,
    api_requests: IntCounterVec,
    ws_clients: IntGaugeVec,
    events_published: IntCounterVec,
    messages_appended: IntCounter,
    sessions_ended: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    tokens: IntCounterVec,
    sessions: IntGaugeVec,
    sessions_running: IntGauge,
    output_bytes: IntCounter,
    audit_records: IntCounterVec,
    rate_limited: IntCounterVec,
    webhook_queue: IntGauge,
    /// One scrape at a time: filling in the scrape-time values is not atomic.
    scraping: std::sync::Mutex<()>,
}

/// Values read at scrape time.
pub struct Snapshot<'a> {
    /// Sessions by status, from the store.
    pub sessions_by_status: &'a [(&'a str, u64)],
    /// Sessions with a live process.
    pub running: u64,
    /// Every byte any agent has printed since Baton started (monotonic).
    pub output_bytes: u64,
    /// Webhook deliveries waiting to be sent.
    pub webhook_queue: u64,
}

/// Which WebSocket endpoint a client is on.
#[derive(Clone, Copy, Debug)]
pub enum WsKind {
    Events,
    Terminal,
}

impl WsKind {
    fn as_str(self) -> &'static str {
        match self {
            WsKind::Events => "events",
            WsKind::Terminal => "terminal",
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        // Names and labels are literals: registering them cannot fail twice in one fresh
        // registry, so a failure is a programming error caught by the unit test below.
        Self::build().unwrap_or_else(|err| panic!("metric definitions are invalid: {err}"))
    }

    fn build() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("baton".into()), None)?;
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let api_requests = counter_vec(
            "api_requests_total",
            "HTTP requests answered, by route template and status code.",
            &["route", "status"],
        )?;
        let events_published = counter_vec(
            "events_published_total",
            "Events published on the bus, by name.",
            &["event"],
        )?;
        let sessions_ended = counter_vec(
            "sessions_ended_total",
            "Agent processes that ended, by the state they ended in.",
            &["state"],
        )?;
        let webhook_deliveries = counter_vec(
            "webhook_deliveries_total",
            "Webhook delivery attempts by outcome: delivered, retried (failed, will retry), failed (gave up).",
            &["outcome"],
        )?;
        let tokens = counter_vec(
            "tokens_total",
            "Model tokens the agents used (read from their transcripts), by model and kind: input, output, cache_read, cache_write.",
            &["model", "kind"],
        )?;
        let ws_clients = IntGaugeVec::new(
            Opts::new(
                "websocket_clients",
                "Open WebSocket connections, by endpoint.",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(ws_clients.clone()))?;
        let sessions = IntGaugeVec::new(
            Opts::new("sessions", "Sessions in the store, by status."),
            &["status"],
        )?;
        registry.register(Box::new(sessions.clone()))?;
        let messages_appended = IntCounter::new(
            "messages_appended_total",
            "Messages appended to the message bus.",
        )?;
        registry.register(Box::new(messages_appended.clone()))?;
        let sessions_running =
            IntGauge::new("sessions_running", "Sessions with a live agent process.")?;
        registry.register(Box::new(sessions_running.clone()))?;
        let output_bytes = IntCounter::new(
            "output_bytes_total",
            "Bytes of terminal output read from agents.",
        )?;
        registry.register(Box::new(output_bytes.clone()))?;
        let audit_records = counter_vec(
            "audit_records_total",
            "Audit records, by outcome: written, or failed (logged; the request went on).",
            &["outcome"],
        )?;
        let rate_limited = counter_vec(
            "rate_limited_total",
            "Requests refused with 429, by caller: the person's token or an agent's.",
            &["caller"],
        )?;
        let webhook_queue =
            IntGauge::new("webhook_queue", "Webhook deliveries waiting to be sent.")?;
        registry.register(Box::new(webhook_queue.clone()))?;
        Ok(Self {
            registry,
            api_requests,
            ws_clients,
            events_published,
            messages_appended,
            sessions_ended,
            webhook_deliveries,
            tokens,
            sessions,
            sessions_running,
            output_bytes,
            audit_records,
            rate_limited,
            webhook_queue,
            scraping: std::sync::Mutex::new(()),
        })
    }

    pub fn api_request(&self, route: &str, status: u16) {
        self.api_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// Counts a WebSocket client for as long as the returned guard lives.
    pub fn ws_client(&self, kind: WsKind) -> WsClientGuard {
        let gauge = self.ws_clients.with_label_values(&[kind.as_str()]);
        gauge.inc();
        WsClientGuard(gauge)
    }

    pub fn event_published(&self, name: &str) {
        self.events_published.with_label_values(&[name]).inc();
        if name == "message:created" {
            self.messages_appended.inc();
        }
    }

    pub fn session_ended(&self, state: &str) {
        self.sessions_ended.with_label_values(&[state]).inc();
    }

    /// An audit record written (`written`) or lost (`failed`).
    pub fn audit_record(&self, outcome: &str) {
        self.audit_records.with_label_values(&[outcome]).inc();
    }

    /// A request refused for going over its token's rate (`person` or `agent`).
    pub fn rate_limited(&self, caller: &str) {
        self.rate_limited.with_label_values(&[caller]).inc();
    }

    /// `n` more tokens of `kind` used by `model`.
    pub fn tokens(&self, model: &str, kind: &str, n: u64) {
        if n > 0 {
            self.tokens.with_label_values(&[model, kind]).inc_by(n);
        }
    }

    pub fn webhook_delivery(&self, outcome: &str) {
        self.webhook_deliveries.with_label_values(&[outcome]).inc();
    }

    /// The text exposition, with the scrape-time values filled in.
    pub fn render(&self, now: &Snapshot<'_>) -> String {
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|p| p.into_inner());
        self.sessions.reset();
        for (status, count) in now.sessions_by_status {
            self.sessions
                .with_label_values(&[status])
                .set(clamp(*count));
        }
        self.sessions_running.set(clamp(now.running));
        let seen = self.output_bytes.get();
        if now.output_bytes > seen {
            self.output_bytes.inc_by(now.output_bytes - seen);
        }
        self.webhook_queue.set(clamp(now.webhook_queue));
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%err, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Decrements the WebSocket client gauge when dropped.
pub struct WsClientGuard(IntGauge);

impl Drop for WsClientGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The content type of the text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_registers_and_renders_with_the_baton_prefix() {
        let m = Metrics::build().expect("valid definitions");
        m.api_request("GET /api/tasks", 200);
        m.event_published("message:created");
        let _client = m.ws_client(WsKind::Events);
        let text = m.render(&Snapshot {
            sessions_by_status: &[("running", 2)],
            running: 2,
            output_bytes: 10,
            webhook_queue: 0,
        });
        assert!(text.contains(r#"baton_api_requests_total{route="GET /api/tasks",status="200"} 1"#));
        assert!(text.contains("baton_messages_appended_total 1"));
        assert!(text.contains(r#"baton_websocket_clients{kind="events"} 1"#));
        assert!(text.contains(r#"baton_sessions{status="running"} 2"#));
        assert!(text.contains("baton_output_bytes_total 10"));
    }

    #[test]
    fn output_bytes_only_ever_go_up() {
        let m = Metrics::new();
        let snap = |bytes| Snapshot {
            sessions_by_status: &[],
            running: 0,
            output_bytes: bytes,
            webhook_queue: 0,
        };
        m.render(&snap(100));
        m.render(&snap(40));
        assert!(m.render(&snap(40)).contains("baton_output_bytes_total 100"));
    }
}
