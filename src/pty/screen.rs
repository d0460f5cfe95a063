//! A live model of each terminal's screen, kept on the server as tmux keeps one: it answers the
//! program's terminal queries itself (device attributes, cursor position, colours, modes), so
//! that a query gets exactly one answer whatever the number of viewers, and it hands a viewer
//! the current screen instead of megabytes of replay.
//!
//! The model is a [`vt100`] parser fed by its own thread from the output broadcast: the PTY
//! reader never waits for it. The parser meets the queries itself (its callbacks), so each is
//! answered with the screen as it was at that byte. Parsing costs CPU per byte, so the model has
//! a budget ([`RATE`] bytes a second, [`BURST`] at once); a flood beyond it is only *scanned* for
//! queries ([`scan`]: a `memchr` for ESC and a look at the bytes after each), the model is marked
//! stale, and it is rebuilt from the last [`REBUILD`] bytes of output as soon as the budget allows
//! or someone looks. Typical agents stay far below the budget, so their model is exact.
//!
//! [`queries`] holds the pure part: which sequences are queries and what answers them.

use std::collections::VecDeque;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::{broadcast, watch};

use super::output::Output;
use super::Size;

pub mod queries;
pub mod scan;

use queries::ScreenFacts;

/// Bytes a second the model parses before it falls back to scanning for queries only.
pub const RATE: f64 = 4.0 * 1024.0 * 1024.0;
/// Bytes the model may parse at once beyond the rate.
pub const BURST: f64 = 1024.0 * 1024.0;
/// How much of the recent output a stale model is rebuilt from.
pub const REBUILD: usize = 256 * 1024;
/// The feeding thread's pause after each batch, to take more per wake-up (a flood, or many agents
/// printing a line at a time).
const COALESCE: std::time::Duration = std::time::Duration::from_millis(20);
/// A batch smaller than this after a flood says the flood is over.
const FLOOD_ENDED: usize = 4 * 1024;
/// Scrolled-off lines kept for a viewer's scrollback (formatted text, bounded in bytes).
const SCROLLBACK_BYTES: usize = 128 * 1024;

/// What a viewer needs to show the screen now: write `data` into a reset terminal, then the
/// output from byte `offset` on.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub offset: u64,
    pub data: String,
}

/// What the parser hands out while it parses: the rows that scroll off the top (the viewer's
/// scrollback) and the answers to the queries it meets.
#[derive(Default)]
struct Hooks {
    lines: VecDeque<String>,
    bytes: usize,
    answers: Vec<u8>,
    /// The states the program reported in-band (`OSC 7501;state=working:app=codex`), in order.
    states: Vec<String>,
}

impl vt100::Callbacks for Hooks {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let intermediates: Vec<u8> = i1.into_iter().chain(i2).collect();
        let params: Vec<u16> = params
            .iter()
            .map(|p| p.first().copied().unwrap_or(0))
            .collect();
        if let Some(q) = queries::of_csi(&intermediates, &params, c) {
            self.answers.extend(queries::answer(q, &facts_of(screen)));
        }
    }

    fn unhandled_osc(&mut self, screen: &mut vt100::Screen, params: &[&[u8]]) {
        if let Some(state) = queries::reported_state(params) {
            self.states.push(state);
            return;
        }
        for q in queries::of_osc(params) {
            self.answers.extend(queries::answer(q, &facts_of(screen)));
        }
    }

    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen {
            return;
        }
        let mut line = String::new();
        let mut state = vt100::capture::BasicFormattedCaptureState::new();
        if row.write_formatted_basic(&mut line, &mut state).is_err() {
            return;
        }
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.bytes > SCROLLBACK_BYTES {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len(),
                None => break,
            }
        }
    }
}

/// The model proper: no threads, no I/O; [`Screen`] drives it.
pub struct ScreenModel {
    parser: vt100::Parser<Hooks>,
    /// Finds queries in what the parser skips.
    scanner: scan::Scanner,
    /// The output offset just past the last byte seen (parsed, or only scanned).
    offset: u64,
    /// Bytes were skipped by the parser (a flood): rebuild before showing the screen.
    stale: bool,
    tokens: f64,
    refilled: Instant,
}

impl ScreenModel {
    pub fn new(size: Size, offset: u64) -> Self {
        Self {
            parser: parser(size),
            scanner: scan::Scanner::default(),
            offset,
            stale: false,
            tokens: BURST,
            refilled: Instant::now(),
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Takes in output that starts at `offset` (the part already seen is skipped) and returns
    /// the answers to the queries in it, in order, to be written to the program.
    pub fn feed(&mut self, offset: u64, bytes: &[u8], now: Instant) -> Vec<u8> {
        let end = offset + bytes.len() as u64;
        if end <= self.offset {
            return Vec::new();
        }
        let bytes = &bytes[self.offset.saturating_sub(offset) as usize..];
        self.offset = end;
        self.refill(now);
        if !self.stale && self.tokens >= bytes.len() as f64 {
            self.tokens -= bytes.len() as f64;
            // The parser answers each query with the screen as it is at that byte.
            self.parser.process(bytes);
            return std::mem::take(&mut self.parser.callbacks_mut().answers);
        }
        if !self.stale {
            self.stale = true;
            self.scanner = scan::Scanner::default();
        }
        // Over budget: queries are still answered, with the screen as last parsed.
        let facts = self.facts();
        self.scanner
            .scan(bytes)
            .into_iter()
            .flat_map(|q| queries::answer(q, &facts))
            .collect()
    }

    /// Rebuilds the screen from `tail`, the last bytes of output before `end`.
    pub fn rebuild(&mut self, end: u64, tail: &[u8]) {
        let (rows, cols) = self.parser.screen().size();
        self.parser = parser(Size {
            cols: cols.get(),
            rows: rows.get(),
        });
        self.parser.process(tail);
        // Those queries were answered when they came, and those states reported.
        self.parser.callbacks_mut().answers.clear();
        self.parser.callbacks_mut().states.clear();
        self.offset = end;
        self.stale = false;
    }

    /// The states the program reported in-band since the last call.
    pub fn take_states(&mut self) -> Vec<String> {
        std::mem::take(&mut self.parser.callbacks_mut().states)
    }

    pub fn resize(&mut self, size: Size) {
        let (rows, cols) = nonzero(size);
        self.parser.set_size(rows, cols);
    }

    /// Escape codes that draw this screen — scrollback first, then the visible rows, cursor and
    /// input modes — on a freshly reset terminal.
    pub fn snapshot(&self) -> Snapshot {
        let screen = self.parser.screen();
        let mut data = String::from("\x1b[0m");
        if screen.alternate_screen() {
            data.push_str("\x1b[?1049h");
        } else {
            let scrolled = &self.parser.callbacks().lines;
            if !scrolled.is_empty() {
                for line in scrolled {
                    data.push_str(line);
                    data.push_str("\x1b[0m\r\n");
                }
                // Push what the scrollback left on the visible screen up into the scrollback.
                let (rows, _) = screen.size();
                data.push_str(&"\n".repeat(usize::from(rows.get())));
            }
        }
        data.push_str(&screen.state_formatted());
        Snapshot {
            offset: self.offset,
            data,
        }
    }

    /// The visible screen as plain text, one line per row (for readiness and waiting patterns).
    pub fn text(&self) -> String {
        self.parser.screen().contents()
    }

    /// Whether the program asked for pastes to be bracketed (`CSI ? 2004 h`).
    pub fn bracketed_paste(&self) -> bool {
        self.parser.screen().bracketed_paste()
    }

    /// The last `n` non-empty lines of the visible screen.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let text = self.text();
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.trim_end().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    fn facts(&self) -> ScreenFacts {
        facts_of(self.parser.screen())
    }

    /// Takes `n` bytes from the budget if it has them.
    pub fn try_spend(&mut self, n: usize, now: Instant) -> bool {
        self.refill(now);
        let ok = self.tokens >= n as f64;
        if ok {
            self.tokens -= n as f64;
        }
        ok
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * RATE).min(BURST);
        self.refilled = now;
    }
}

fn facts_of(screen: &vt100::Screen) -> ScreenFacts {
    let (row, col) = screen.cursor_position();
    let (rows, cols) = screen.size();
    ScreenFacts {
        cursor_row: row,
        cursor_col: col,
        rows: rows.get(),
        cols: cols.get(),
        application_cursor: screen.application_cursor(),
        bracketed_paste: screen.bracketed_paste(),
        alternate_screen: screen.alternate_screen(),
        cursor_hidden: screen.hide_cursor(),
    }
}

fn nonzero(size: Size) -> (NonZeroU16, NonZeroU16) {
    (
        NonZeroU16::new(size.rows).unwrap_or(NonZeroU16::MIN),
        NonZeroU16::new(size.cols).unwrap_or(NonZeroU16::MIN),
    )
}

fn parser(size: Size) -> vt100::Parser<Hooks> {
    let (rows, cols) = nonzero(size);
    // No scrollback of cells (32 bytes each): scrolled rows are kept as text by `Hooks`.
    vt100::Parser::new_with_callbacks(rows, cols, 0, Hooks::default())
}

/// Writes the answers to queries to the program.
type Answer = Box<dyn Fn(&[u8]) + Send + Sync>;

/// A terminal's model, shared by the thread that feeds it and whoever reads it.
pub struct Screen {
    model: Mutex<ScreenModel>,
    output: Weak<Output>,
    /// Writes answers to the program.
    answer: Answer,
    /// The last state the program reported in-band, and how many it reported so far.
    states: watch::Sender<(u64, Option<String>)>,
}

impl Screen {
    /// Starts modelling `output` from its current end; answers to queries go to `answer`.
    /// The feeding thread ends when the output is gone.
    pub fn start(
        output: &Arc<Output>,
        size: Size,
        answer: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> std::io::Result<Arc<Self>> {
        let (offset, live) = output.subscribe();
        let screen = Arc::new(Self {
            model: Mutex::new(ScreenModel::new(size, offset)),
            output: Arc::downgrade(output),
            answer: Box::new(answer),
            states: watch::channel((0, None)).0,
        });
        let feeding = Arc::clone(&screen);
        std::thread::Builder::new()
            .name("pty-screen".into())
            .spawn(move || feeding.feed_from(live))?;
        Ok(screen)
    }

    fn model(&self) -> std::sync::MutexGuard<'_, ScreenModel> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn feed_from(&self, mut live: broadcast::Receiver<super::Chunk>) {
        loop {
            let mut chunks = Vec::new();
            match live.blocking_recv() {
                Ok(chunk) => chunks.push(chunk),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Missed chunks: the model is stale from here (rebuilt when needed).
                    self.model().stale = true;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
            while let Ok(chunk) = live.try_recv() {
                chunks.push(chunk);
            }
            let bytes: usize = chunks.iter().map(|c| c.data.len()).sum();
            let answers = {
                let mut model = self.model();
                let now = Instant::now();
                let mut answers = Vec::new();
                for chunk in &chunks {
                    answers.extend(model.feed(chunk.offset, &chunk.data, now));
                }
                // Once a flood is over (output is small again), catch up if the budget allows;
                // during it, only a viewer that looks makes it rebuild.
                if model.is_stale() && bytes < FLOOD_ENDED && model.try_spend(REBUILD, now) {
                    self.freshen(&mut model, true);
                }
                self.report_states(&mut model);
                answers
            };
            if !answers.is_empty() {
                (self.answer)(&answers);
            }
            // An agent that printed nothing for a while is answered at once: this pause comes
            // after a batch, not before.
            std::thread::sleep(COALESCE);
        }
    }

    /// The screen as of the last byte printed (caught up first if its thread is behind, rebuilt
    /// if a flood left it stale).
    pub fn snapshot(&self) -> Snapshot {
        let mut model = self.model();
        self.freshen(&mut model, true);
        model.snapshot()
    }

    /// The visible screen as text; after a flood, possibly as it was before it (a rebuild is
    /// made only when the budget allows: waiting detection asks every tick).
    pub fn text(&self) -> String {
        let mut model = self.model();
        self.freshen(&mut model, false);
        model.text()
    }

    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let mut model = self.model();
        self.freshen(&mut model, false);
        model.last_lines(n)
    }

    /// Whether the program asked for pastes to be bracketed (`CSI ? 2004 h`), as of the last
    /// byte printed.
    pub fn bracketed_paste(&self) -> bool {
        let mut model = self.model();
        self.freshen(&mut model, true);
        model.bracketed_paste()
    }

    pub fn resize(&self, size: Size) {
        self.model().resize(size);
    }

    /// The states the program reports in-band (`OSC 7501;state=…`, as Codex does): the last
    /// one, and a count that changes with every report.
    pub fn states(&self) -> watch::Receiver<(u64, Option<String>)> {
        self.states.subscribe()
    }

    fn report_states(&self, model: &mut ScreenModel) {
        let states = model.take_states();
        if let Some(last) = states.last() {
            let n = states.len() as u64;
            self.states.send_modify(|(count, state)| {
                *count += n;
                *state = Some(last.clone());
            });
        }
    }

    /// Catches the model up with the output; a stale model is rebuilt when `force`d or when the
    /// budget allows.
    fn freshen(&self, model: &mut ScreenModel, force: bool) {
        let Some(output) = self.output.upgrade() else {
            return;
        };
        if !model.is_stale() {
            // The feeding thread may not have seen the last chunks yet: take them from the tail
            // (it skips them later by offset).
            let from = model.offset();
            let behind = output.end().saturating_sub(from);
            if behind == 0 {
                return;
            }
            if behind <= REBUILD as u64 {
                if let Some(bytes) = output.tail_from(from) {
                    let answers = model.feed(from, &bytes, Instant::now());
                    if !answers.is_empty() {
                        (self.answer)(&answers);
                    }
                    if !model.is_stale() {
                        return;
                    }
                }
            }
        }
        if force || model.try_spend(REBUILD, Instant::now()) {
            let (end, tail) = output.recent_with_end(REBUILD);
            model.rebuild(end, &tail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: Size = Size { cols: 40, rows: 6 };

    fn redraw(snapshot: &Snapshot, size: Size) -> vt100::Parser {
        let (rows, cols) = nonzero(size);
        let mut fresh = vt100::Parser::new(rows, cols, 0);
        fresh.process(snapshot.data.as_bytes());
        fresh
    }

    #[test]
    fn a_snapshot_redraws_the_same_screen_cursor_and_modes() {
        let mut model = ScreenModel::new(SIZE, 0);
        let out =
            b"\x1b[1;32mgreen\x1b[0m plain\r\nsecond line\r\n\x1b[?1h\x1b[?2004h\x1b[3;5Hhere";
        model.feed(0, out, Instant::now());
        let snap = model.snapshot();
        assert_eq!(snap.offset, out.len() as u64);
        let fresh = redraw(&snap, SIZE);
        let (a, b) = (model.parser.screen(), fresh.screen());
        assert_eq!(a.contents(), b.contents());
        assert_eq!(a.cursor_position(), b.cursor_position());
        assert_eq!(a.cursor_position(), (2, 8));
        assert!(b.application_cursor() && b.bracketed_paste());
        assert!(b.cell(0, 0).unwrap().bold());
        assert_eq!(b.cell(0, 0).unwrap().fgcolor(), vt100::Color::Idx(2));
    }

    #[test]
    fn scrolled_lines_come_before_the_screen_and_the_alternate_screen_is_restored() {
        let mut model = ScreenModel::new(SIZE, 0);
        let lines: String = (0..20).map(|i| format!("line {i}\r\n")).collect();
        model.feed(0, lines.as_bytes(), Instant::now());
        let snap = model.snapshot();
        assert!(snap.data.contains("line 0\x1b[0m\r\n"));
        assert_eq!(redraw(&snap, SIZE).screen().contents(), model.text());
        assert!(model.text().contains("line 19"));
        let at = lines.len() as u64;
        model.feed(at, b"\x1b[?1049h\x1b[Hvim", Instant::now());
        let snap = model.snapshot();
        assert!(snap.data.starts_with("\x1b[0m\x1b[?1049h"));
        let fresh = redraw(&snap, SIZE);
        assert!(fresh.screen().alternate_screen());
        assert!(fresh.screen().contents().starts_with("vim"));
    }

    #[test]
    fn states_reported_in_band_are_taken_in_order_and_not_drawn_or_answered() {
        let mut model = ScreenModel::new(SIZE, 0);
        let out = b"a\x1b]7501;state=working:app=codex\x1b\\b\x1b]7501;state=done:app=codex\x07c";
        let answers = model.feed(0, out, Instant::now());
        assert!(answers.is_empty());
        assert_eq!(model.take_states(), ["working", "done"]);
        assert!(model.take_states().is_empty());
        assert!(model.text().starts_with("abc"));
        // A rebuild does not report them again.
        model.rebuild(out.len() as u64, out);
        assert!(model.take_states().is_empty());
        assert_eq!(queries::reported_state(&[b"7501", b"nope"]), None);
        assert_eq!(queries::reported_state(&[b"7502", b"state=x"]), None);
    }

    #[test]
    fn queries_are_answered_once_with_the_screen_as_it_was_then() {
        let mut model = ScreenModel::new(SIZE, 100);
        // The cursor is at row 2, column 4 when the position is asked; the later text moves it.
        let answers = model.feed(100, b"ab\r\ncd\r\nefg\x1b[6nlater\x1b[c", Instant::now());
        assert_eq!(answers, b"\x1b[3;4R\x1b[?1;2c");
        // The same bytes again (a viewer's replay, a repeated chunk) are not answered twice.
        assert!(model
            .feed(100, b"ab\r\ncd\r\nefg\x1b[6nlater\x1b[c", Instant::now())
            .is_empty());
        // A query split across two chunks is answered once, when it completes.
        let at = model.offset();
        assert!(model.feed(at, b"\x1b]11;", Instant::now()).is_empty());
        let answers = model.feed(at + 5, b"?\x07", Instant::now());
        assert_eq!(
            String::from_utf8(answers).unwrap(),
            "\x1b]11;rgb:0f0f/1111/1515\x1b\\"
        );
    }

    #[test]
    fn a_flood_beyond_the_budget_is_scanned_for_queries_and_rebuilt_from_the_tail() {
        let mut model = ScreenModel::new(SIZE, 0);
        let now = Instant::now();
        let mut flood = vec![b'x'; BURST as usize + 10];
        flood.extend_from_slice(b"\x1b[c");
        let answers = model.feed(0, &flood, now);
        assert_eq!(
            answers, b"\x1b[?1;2c",
            "queries in a flood are still answered"
        );
        assert!(model.is_stale());
        let end = flood.len() as u64 + 5;
        model.rebuild(end, b"\x1b[2J\x1b[Hfinal");
        assert!(!model.is_stale());
        assert_eq!(model.offset(), end);
        assert!(model.text().starts_with("final"));
        // The budget refills with time: a second later, ordinary output is parsed again.
        model.feed(end, b"!", now + std::time::Duration::from_secs(1));
        assert!(!model.is_stale());
        assert!(model.text().starts_with("final!"));
    }

    #[test]
    fn the_last_lines_skip_blank_rows() {
        let mut model = ScreenModel::new(SIZE, 0);
        model.feed(
            0,
            b"working...\r\nDo you want to proceed?\r\n  1. Yes\r\n\r\n",
            Instant::now(),
        );
        assert_eq!(
            model.last_lines(2),
            vec!["Do you want to proceed?".to_owned(), "  1. Yes".to_owned()]
        );
    }
}
