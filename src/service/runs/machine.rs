//! The life of one run as a pure state machine: state × input → new state + effects. The
//! supervisor (`super::supervise`) feeds it what happened — output, a timer firing, the screen
//! read, a stop asked, the grace period over, the exit, a signal from the agent — and performs the
//! effects it returns (publish the activity, arm a timer, type the prompt, signal or kill the
//! process group, record the end). No PTY, database, clock or task here, so every rule is tested
//! as a table of inputs.
//!
//! Timers are armed by effects, not polled: an idle run has one timer (its quiet time) and, once
//! that has fired, none.

use crate::model::{Activity, EndReason};

/// How long output may flow before the screen is read again (for the wait pattern and the
/// prompt's input box): reading it on every chunk would cost more than the output.
pub const SCREEN_EVERY_MS: i64 = 100;

/// What the machine knows of the agent's profile.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Quiet this long and the agent counts as waiting.
    pub quiet_ms: i64,
    /// The profile has a wait pattern (its input box), so the screen must be read.
    pub has_pattern: bool,
    /// A prompt waits to be typed once the input box shows.
    pub prompt: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Running,
    /// Asked to stop: SIGHUP and SIGTERM sent, SIGKILL when the grace period is over.
    Stopping(EndReason),
    Ended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    None,
    Pending,
    Held(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Output at `at` (ms); `redraw` when it follows a resize (a redraw, not work).
    Output { at: i64, redraw: bool },
    /// The screen was read at `at`: whether the profile's pattern is on it.
    Screen { at: i64, pattern_shown: bool },
    /// The quiet timer fired at `at`.
    QuietTimer { at: i64 },
    /// The agent said what it does (its own hooks): this wins over what output suggests.
    Signal(Activity),
    /// Someone asked the run to stop, for `reason`.
    Stop(EndReason),
    /// The grace period after a stop is over.
    GraceExpired,
    /// The process ended.
    Exited { code: i32, signal: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Record and publish this activity (again, when the agent still waits but printed: a new
    /// question).
    Publish(Activity),
    /// Fire [`Input::QuietTimer`] at this time (replacing the one armed before).
    QuietTimer(i64),
    /// Read the screen at this time and feed [`Input::Screen`].
    ReadScreen(i64),
    /// Type the task's prompt now.
    TypePrompt,
    /// Say why the prompt is not typed yet (`None`: clear it).
    HoldPrompt(Option<&'static str>),
    /// SIGHUP and SIGTERM to the process group, then arm the grace timer.
    Terminate,
    /// SIGKILL to the process group.
    Kill,
    /// The run is over: record it.
    Record {
        reason: EndReason,
        code: i32,
        signal: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct Machine {
    settings: Settings,
    phase: Phase,
    activity: Activity,
    /// The last output that was work (not a redraw), or the start.
    active_at: i64,
    pattern_shown: bool,
    screen_armed: bool,
    prompt: Prompt,
    /// The agent's hooks have spoken: from then on they decide the activity, not its output.
    by_signal: bool,
}

impl Machine {
    /// A run that started at `at`, and what to do first.
    pub fn start(settings: Settings, at: i64) -> (Self, Vec<Effect>) {
        let machine = Self {
            settings,
            phase: Phase::Running,
            activity: Activity::Working,
            active_at: at,
            pattern_shown: false,
            screen_armed: false,
            prompt: if settings.prompt {
                Prompt::Pending
            } else {
                Prompt::None
            },
            by_signal: false,
        };
        (machine, vec![Effect::QuietTimer(at + settings.quiet_ms)])
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn activity(&self) -> Activity {
        self.activity
    }

    fn quiet(&self, at: i64) -> bool {
        at - self.active_at >= self.settings.quiet_ms
    }

    /// The next state and what to do, for `input`.
    pub fn step(&mut self, input: Input) -> Vec<Effect> {
        if self.phase == Phase::Ended {
            return Vec::new();
        }
        let mut effects = Vec::new();
        match input {
            Input::Output { at, redraw } => {
                if !redraw {
                    self.active_at = self.active_at.max(at);
                    effects.push(Effect::QuietTimer(self.active_at + self.settings.quiet_ms));
                }
                if self.settings.has_pattern {
                    if !self.screen_armed {
                        self.screen_armed = true;
                        effects.push(Effect::ReadScreen(at + SCREEN_EVERY_MS));
                    }
                } else if !redraw {
                    self.settle(at, &mut effects, true);
                }
            }
            Input::Screen { at, pattern_shown } => {
                self.screen_armed = false;
                self.pattern_shown = pattern_shown;
                let printed = at - self.active_at < SCREEN_EVERY_MS * 2;
                self.settle(at, &mut effects, printed);
            }
            Input::QuietTimer { at } => {
                if self.quiet(at) {
                    self.settle(at, &mut effects, false);
                } else {
                    // Output came since it was armed (a stale timer): the newer one stands.
                    effects.push(Effect::QuietTimer(self.active_at + self.settings.quiet_ms));
                }
            }
            Input::Signal(activity) => {
                self.by_signal = true;
                if self.phase == Phase::Running {
                    // Published even when unchanged: a second permission asked is news.
                    self.activity = activity;
                    effects.push(Effect::Publish(activity));
                }
            }
            Input::Stop(reason) => {
                if self.phase == Phase::Running {
                    self.phase = Phase::Stopping(reason);
                    effects.push(Effect::Terminate);
                }
            }
            Input::GraceExpired => {
                if matches!(self.phase, Phase::Stopping(_)) {
                    effects.push(Effect::Kill);
                }
            }
            Input::Exited { code, signal } => {
                let reason = match self.phase {
                    Phase::Stopping(reason) => reason,
                    _ => EndReason::Exited,
                };
                self.phase = Phase::Ended;
                effects.push(Effect::Record {
                    reason,
                    code,
                    signal,
                });
            }
        }
        effects
    }

    /// Works out the activity at `at` from quietness and the pattern, and whether the prompt
    /// may be typed. `printed`: output that was work just came (a waiting agent that prints
    /// has a new question).
    fn settle(&mut self, at: i64, effects: &mut Vec<Effect>, printed: bool) {
        if self.phase != Phase::Running {
            return;
        }
        let quiet = self.quiet(at);
        let next = if self.by_signal {
            // The hooks said what it does; output only moves the prompt along.
            self.activity
        } else if quiet || (self.settings.has_pattern && self.pattern_shown) {
            Activity::WaitingInput
        } else {
            Activity::Working
        };
        if next != self.activity || (printed && next == Activity::WaitingInput && !self.by_signal) {
            self.activity = next;
            effects.push(Effect::Publish(next));
        }
        if !quiet || self.prompt == Prompt::None {
            return;
        }
        if self.settings.has_pattern && self.pattern_shown {
            if matches!(self.prompt, Prompt::Held(_)) {
                effects.push(Effect::HoldPrompt(None));
            }
            self.prompt = Prompt::None;
            effects.push(Effect::TypePrompt);
            return;
        }
        let why = if self.settings.has_pattern {
            super::super::handover::WAITING_FOR_INPUT_BOX
        } else {
            super::super::handover::NO_PATTERN
        };
        if self.prompt != Prompt::Held(why) {
            self.prompt = Prompt::Held(why);
            effects.push(Effect::HoldPrompt(Some(why)));
        }
        // With a pattern, the box may still show up: read the screen once it does.
        if self.settings.has_pattern && !self.screen_armed {
            self.screen_armed = true;
            effects.push(Effect::ReadScreen(at + SCREEN_EVERY_MS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::handover::{NO_PATTERN, WAITING_FOR_INPUT_BOX};

    const QUIET: i64 = 3000;

    fn plain() -> Settings {
        Settings {
            quiet_ms: QUIET,
            has_pattern: false,
            prompt: false,
        }
    }

    #[test]
    fn a_start_arms_the_quiet_timer_and_nothing_else() {
        let (m, effects) = Machine::start(plain(), 1000);
        assert_eq!(effects, [Effect::QuietTimer(1000 + QUIET)]);
        assert_eq!(
            (m.phase(), m.activity()),
            (Phase::Running, Activity::Working)
        );
    }

    #[test]
    fn quiet_means_waiting_and_output_means_working_and_resets_the_timer() {
        let (mut m, _) = Machine::start(plain(), 0);
        assert_eq!(
            m.step(Input::QuietTimer { at: QUIET }),
            [Effect::Publish(Activity::WaitingInput)]
        );
        assert_eq!(
            m.step(Input::QuietTimer { at: QUIET + 10 }),
            [],
            "nothing new"
        );
        assert_eq!(
            m.step(Input::Output {
                at: 5000,
                redraw: false
            }),
            [
                Effect::QuietTimer(5000 + QUIET),
                Effect::Publish(Activity::Working)
            ]
        );
        assert_eq!(
            m.step(Input::Output {
                at: 5100,
                redraw: false
            }),
            [Effect::QuietTimer(5100 + QUIET)],
            "still working: only the timer moves"
        );
    }

    #[test]
    fn a_timer_armed_before_newer_output_does_not_make_the_agent_wait() {
        let (mut m, _) = Machine::start(plain(), 0);
        m.step(Input::Output {
            at: 2000,
            redraw: false,
        });
        assert_eq!(
            m.step(Input::QuietTimer { at: QUIET }),
            [Effect::QuietTimer(2000 + QUIET)]
        );
        assert_eq!(m.activity(), Activity::Working);
    }

    #[test]
    fn a_redraw_after_a_resize_is_not_work() {
        let (mut m, _) = Machine::start(plain(), 0);
        m.step(Input::QuietTimer { at: QUIET });
        assert_eq!(
            m.step(Input::Output {
                at: 4000,
                redraw: true
            }),
            []
        );
        assert_eq!(m.activity(), Activity::WaitingInput);
    }

    #[test]
    fn the_pattern_on_screen_means_waiting_at_once_and_its_reading_is_batched() {
        let settings = Settings {
            has_pattern: true,
            ..plain()
        };
        let (mut m, _) = Machine::start(settings, 0);
        assert_eq!(
            m.step(Input::Output {
                at: 10,
                redraw: false
            }),
            [
                Effect::QuietTimer(10 + QUIET),
                Effect::ReadScreen(10 + SCREEN_EVERY_MS)
            ]
        );
        assert_eq!(
            m.step(Input::Output {
                at: 20,
                redraw: false
            }),
            [Effect::QuietTimer(20 + QUIET)],
            "one reading already armed"
        );
        assert_eq!(
            m.step(Input::Screen {
                at: 110,
                pattern_shown: true
            }),
            [Effect::Publish(Activity::WaitingInput)]
        );
    }

    #[test]
    fn the_prompt_is_typed_only_when_quiet_and_the_input_box_shows() {
        let settings = Settings {
            has_pattern: true,
            prompt: true,
            ..plain()
        };
        let (mut m, _) = Machine::start(settings, 0);
        // A login menu, quiet: held, and the screen is read again.
        m.step(Input::Output {
            at: 0,
            redraw: false,
        });
        m.step(Input::Screen {
            at: 100,
            pattern_shown: false,
        });
        assert_eq!(
            m.step(Input::QuietTimer { at: QUIET }),
            [
                Effect::Publish(Activity::WaitingInput),
                Effect::HoldPrompt(Some(WAITING_FOR_INPUT_BOX)),
                Effect::ReadScreen(QUIET + SCREEN_EVERY_MS)
            ]
        );
        // The box shows (quiet still): the hold is cleared and the prompt typed, once.
        assert_eq!(
            m.step(Input::Screen {
                at: QUIET + 100,
                pattern_shown: true
            }),
            [Effect::HoldPrompt(None), Effect::TypePrompt]
        );
        m.step(Input::Output {
            at: QUIET + 200,
            redraw: false,
        });
        let later = m.step(Input::Screen {
            at: 2 * QUIET + 300,
            pattern_shown: true,
        });
        assert!(!later.contains(&Effect::TypePrompt), "{later:?}");
    }

    #[test]
    fn without_a_pattern_the_prompt_is_held_with_the_reason() {
        let settings = Settings {
            prompt: true,
            ..plain()
        };
        let (mut m, _) = Machine::start(settings, 0);
        assert_eq!(
            m.step(Input::QuietTimer { at: QUIET }),
            [
                Effect::Publish(Activity::WaitingInput),
                Effect::HoldPrompt(Some(NO_PATTERN))
            ]
        );
    }

    #[test]
    fn a_stop_terminates_then_kills_after_the_grace_and_the_exit_records_why() {
        let (mut m, _) = Machine::start(plain(), 0);
        assert_eq!(
            m.step(Input::Stop(EndReason::Cancelled)),
            [Effect::Terminate]
        );
        assert_eq!(m.step(Input::Stop(EndReason::Stopped)), [], "asked once");
        assert_eq!(m.step(Input::GraceExpired), [Effect::Kill]);
        assert_eq!(
            m.step(Input::Exited {
                code: -1,
                signal: Some("SIGKILL".into())
            }),
            [Effect::Record {
                reason: EndReason::Cancelled,
                code: -1,
                signal: Some("SIGKILL".into())
            }]
        );
        assert_eq!(m.phase(), Phase::Ended);
        assert_eq!(m.step(Input::QuietTimer { at: 99_999 }), []);
        assert_eq!(m.step(Input::Stop(EndReason::Stopped)), []);
    }

    #[test]
    fn an_exit_nobody_asked_for_is_exited_and_a_late_grace_timer_does_nothing() {
        let (mut m, _) = Machine::start(plain(), 0);
        assert_eq!(m.step(Input::GraceExpired), []);
        assert_eq!(
            m.step(Input::Exited {
                code: 3,
                signal: None
            }),
            [Effect::Record {
                reason: EndReason::Exited,
                code: 3,
                signal: None
            }]
        );
    }

    #[test]
    fn a_signal_from_the_agent_wins_over_the_heuristic() {
        let (mut m, _) = Machine::start(plain(), 0);
        assert_eq!(
            m.step(Input::Signal(Activity::WaitingPermission)),
            [Effect::Publish(Activity::WaitingPermission)]
        );
        // Asked again (another tool): published again, for its new details.
        assert_eq!(
            m.step(Input::Signal(Activity::WaitingPermission)),
            [Effect::Publish(Activity::WaitingPermission)]
        );
        assert_eq!(
            m.step(Input::Signal(Activity::Working)),
            [Effect::Publish(Activity::Working)]
        );
        // Quiet output no longer makes it "waiting": the hooks decide.
        let effects = m.step(Input::QuietTimer { at: QUIET + 1 });
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Publish(_))),
            "{effects:?}"
        );
        assert_eq!(m.activity(), Activity::Working);
        // Output after a signal of idle does not make it "working" either.
        m.step(Input::Signal(Activity::Idle));
        let effects = m.step(Input::Output {
            at: QUIET + 10,
            redraw: false,
        });
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Publish(_))),
            "{effects:?}"
        );
        assert_eq!(m.activity(), Activity::Idle);
    }

    #[test]
    fn a_signal_after_a_stop_changes_nothing() {
        let (mut m, _) = Machine::start(plain(), 0);
        m.step(Input::Stop(EndReason::Stopped));
        assert_eq!(m.step(Input::Signal(Activity::Idle)), []);
    }
}
