//! Rate limits per token (`governor`'s keyed GCRA limiters): the person's token gets a generous
//! budget for local use; each agent's token its own, lower one, so that an agent stuck in a loop
//! cannot starve the UI or the other agents. Over the limit: 429 with `Retry-After` and the
//! usual error body, counted in `baton_rate_limited_total`. Streams are not throttled: the event
//! WebSocket, terminals (their input frames flow after the upgrade) and the SSE message stream.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::service::Actor;

/// Requests per second, per token; a burst of [`BURST_SECONDS`] worth is allowed. 0: no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    pub person_per_sec: u32,
    pub agent_per_sec: u32,
}

/// How many seconds' worth of requests may come at once.
pub const BURST_SECONDS: u32 = 5;

/// The default rate of the person's token: far above what the UI or a script needs.
pub const PERSON_PER_SEC: u32 = 200;
/// The default rate of each agent's token.
pub const AGENT_PER_SEC: u32 = 20;

impl Default for Rates {
    fn default() -> Self {
        Self {
            person_per_sec: PERSON_PER_SEC,
            agent_per_sec: AGENT_PER_SEC,
        }
    }
}

/// The limiters, one bucket per token.
pub struct RateLimits {
    person: Option<DefaultKeyedRateLimiter<String>>,
    agents: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

fn limiter(per_sec: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    let rate = NonZeroU32::new(per_sec)?;
    let burst = NonZeroU32::new(per_sec.saturating_mul(BURST_SECONDS)).unwrap_or(rate);
    Some(DefaultKeyedRateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl RateLimits {
    pub fn new(rates: Rates) -> Self {
        Self {
            person: limiter(rates.person_per_sec),
            agents: limiter(rates.agent_per_sec),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from `actor`'s budget, or says how long to wait.
    pub fn check(&self, actor: &Actor) -> Result<(), Duration> {
        let limiter = match actor {
            Actor::Session { .. } => &self.agents,
            _ => &self.person,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter
            .check_key(&actor.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Whether a request opens a stream (never throttled).
pub fn is_stream(path: &str) -> bool {
    path == "/ws" || path == "/api/messages/stream" || path.ends_with("/terminal")
}

/// Whole seconds to announce in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str) -> Actor {
        Actor::Session {
            session_id: id.into(),
            project_id: "p".into(),
        }
    }

    #[test]
    fn each_token_has_its_own_budget_and_agents_a_smaller_one() {
        let limits = RateLimits::new(Rates {
            person_per_sec: 2,
            agent_per_sec: 1,
        });
        for _ in 0..BURST_SECONDS {
            limits.check(&agent("a")).unwrap();
        }
        let wait = limits.check(&agent("a")).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        limits
            .check(&agent("b"))
            .expect("another agent is not held up");
        for _ in 0..2 * BURST_SECONDS {
            limits
                .check(&Actor::User)
                .expect("the person's budget is its own");
        }
        assert!(limits.check(&Actor::User).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let limits = RateLimits::new(Rates {
            person_per_sec: 0,
            agent_per_sec: 0,
        });
        for _ in 0..10_000 {
            limits.check(&agent("a")).unwrap();
        }
    }

    #[test]
    fn retry_after_rounds_up_and_streams_are_known() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert!(is_stream("/ws") && is_stream("/api/sessions/s1/terminal"));
        assert!(is_stream("/api/messages/stream") && !is_stream("/api/messages"));
    }
}
