//! When an agent counts as waiting, and when its task's prompt may be typed into it: pure
//! decisions on what the server's screen model shows (see `pty::screen`), so that a prompt is
//! never typed into whatever happens to be on the screen (a login, a menu, a trust dialog).

use regex::Regex;

use crate::model::Activity;

/// What the screen shows, as the profile's pattern reads it: the visible rows, blank rows at the
/// bottom dropped (so `\$ $` still means "the last line ends in `$ `", and an input box in the
/// middle of a TUI can still be found).
pub fn screen_text(rows: &str) -> String {
    let lines: Vec<&str> = rows.lines().collect();
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    lines[..last].join("\n")
}

/// Working or waiting: the profile's pattern on the screen says waiting at once; otherwise
/// quiet for the profile's time does.
pub fn activity(quiet: bool, pattern: Option<&Regex>, screen: &str) -> Activity {
    if quiet || pattern.is_some_and(|p| p.is_match(screen)) {
        Activity::WaitingInput
    } else {
        Activity::Working
    }
}

/// What to do with a prompt still to be typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptGate {
    /// The agent is quiet and its input box is on the screen: type it now.
    Type,
    /// The agent is quiet but shows something else: keep the prompt, and say why.
    Hold(&'static str),
    /// The agent is still printing: look again later.
    NotYet,
}

pub const WAITING_FOR_INPUT_BOX: &str = "waiting for the agent's input box";
pub const NO_PATTERN: &str =
    "the prompt was not typed: the profile has no waitPattern for its input box";

/// A prompt is typed only when the agent is quiet *and* the profile's pattern (its input box)
/// is on the screen — never on a quiet moment alone.
pub fn prompt_gate(quiet: bool, pattern: Option<&Regex>, screen: &str) -> PromptGate {
    match (quiet, pattern) {
        (false, _) => PromptGate::NotYet,
        (true, None) => PromptGate::Hold(NO_PATTERN),
        (true, Some(p)) if p.is_match(screen) => PromptGate::Type,
        (true, Some(_)) => PromptGate::Hold(WAITING_FOR_INPUT_BOX),
    }
}

/// Output that follows a resize this soon is the program redrawing, not working.
pub const REDRAW_MS: i64 = 500;

/// When output counts as a redraw: from the first resize of a burst of resizes (a pane being
/// laid out sends several) until [`REDRAW_MS`] after the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedrawWindow {
    pub from: i64,
    pub until: i64,
}

impl RedrawWindow {
    /// The window after a resize at `now`.
    pub fn after_resize(self, now: i64) -> Self {
        Self {
            from: if now > self.until { now } else { self.from },
            until: now + REDRAW_MS,
        }
    }

    /// Whether output at `t` is a redraw (not work).
    pub fn contains(self, t: i64) -> bool {
        self.from > 0 && (self.from..=self.until).contains(&t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        Regex::new(p).unwrap()
    }

    const GEMINI_AUTH: &str = "Get started\n\nHow would you like to authenticate?\n● 1. Login with Google\n  2. Use Gemini API Key\n\n";
    const GEMINI_READY: &str = "╭──────────────╮\n│ >   Type your message or @path/to/file │\n╰──────────────╯\n ~/src   no sandbox   gemini-2.5-pro\n\n\n";

    #[test]
    fn the_prompt_waits_for_the_input_box_not_for_a_quiet_moment() {
        let box_ = re("Type your message");
        assert_eq!(
            prompt_gate(true, Some(&box_), &screen_text(GEMINI_AUTH)),
            PromptGate::Hold(WAITING_FOR_INPUT_BOX),
            "a menu is not the input box"
        );
        assert_eq!(
            prompt_gate(false, Some(&box_), &screen_text(GEMINI_READY)),
            PromptGate::NotYet,
            "still drawing"
        );
        assert_eq!(
            prompt_gate(true, Some(&box_), &screen_text(GEMINI_READY)),
            PromptGate::Type
        );
        assert_eq!(
            prompt_gate(true, None, "agent> "),
            PromptGate::Hold(NO_PATTERN)
        );
    }

    #[test]
    fn a_last_line_pattern_reads_the_last_non_blank_row() {
        let text = screen_text("build ok\n~/src $ \n\n   \n");
        assert_eq!(text, "build ok\n~/src $ ");
        assert!(re(r"\$\s*$").is_match(&text));
        assert_eq!(
            activity(false, Some(&re(r"[$#%>]\s*$")), &text),
            Activity::WaitingInput
        );
        assert_eq!(
            activity(
                false,
                Some(&re(r"[$#%>]\s*$")),
                "compiling\n[=====>    ] 50% 12s"
            ),
            Activity::Working
        );
        assert_eq!(activity(true, None, ""), Activity::WaitingInput);
    }

    #[test]
    fn a_redraw_after_a_resize_is_not_work() {
        let w = RedrawWindow::default().after_resize(10_000);
        // Output 100 ms after a resize is a redraw; later output, or output before, is not.
        assert!(w.contains(10_100));
        assert!(!w.contains(10_600));
        assert!(!w.contains(9_000));
        assert!(!RedrawWindow::default().contains(9_000));
        // A burst of resizes: output after the first is a redraw, even when it is looked at only
        // after the last one.
        let burst = w.after_resize(10_080).after_resize(10_300);
        assert_eq!(burst.from, 10_000);
        assert!(burst.contains(10_050) && burst.contains(10_790));
        assert!(!burst.contains(10_801));
        // A resize long after starts a new window.
        assert_eq!(burst.after_resize(20_000).from, 20_000);
    }

    proptest::proptest! {
        /// Any screen: no panic, no blank line at the bottom, and the gate types only when the
        /// agent is quiet and its pattern matches.
        #[test]
        fn screen_text_and_the_prompt_gate_take_any_screen(rows in ".{0,400}", quiet: bool) {
            let text = screen_text(&rows);
            proptest::prop_assert!(text.lines().last().is_none_or(|l| !l.trim().is_empty()));
            let pattern = Regex::new(r"> $").unwrap();
            let gate = prompt_gate(quiet, Some(&pattern), &text);
            proptest::prop_assert_eq!(gate == PromptGate::Type, quiet && pattern.is_match(&text));
            let _ = activity(quiet, Some(&pattern), &text);
        }
    }
}
