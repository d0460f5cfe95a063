//! Terminal queries and their answers: which escape sequences ask the terminal something, and
//! what Baton answers, as xterm.js would (the UI's terminal), from the server's screen model.
//! Pure functions; the viewers' own terminals are told never to answer (see `ui/src/queries.ts`).

/// A question a program asks its terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// `CSI c`, `CSI 0 c`: primary device attributes.
    PrimaryAttributes,
    /// `CSI > c`: secondary device attributes.
    SecondaryAttributes,
    /// `CSI 5 n`: are you OK?
    Status,
    /// `CSI 6 n` (or `CSI ? 6 n`, with the page): where is the cursor?
    CursorPosition { private: bool },
    /// `CSI Ps $ p` / `CSI ? Ps $ p`: is this mode set?
    Mode { private: bool, mode: u16 },
    /// `CSI > q`: name and version.
    Version,
    /// `CSI 14 t` (area in pixels), `CSI 16 t` (cell in pixels), `CSI 18 t` (area in cells).
    WindowReport(u16),
    /// `OSC 10 ; ?`, `OSC 11 ; ?`, `OSC 12 ; ?`: foreground, background, cursor colour.
    DynamicColor(u16),
    /// `OSC 4 ; n ; ?`: a palette colour.
    PaletteColor(u8),
}

/// What an answer needs to know of the screen at the moment of the query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScreenFacts {
    /// Zero-based.
    pub cursor_row: u16,
    pub cursor_col: u16,
    pub rows: u16,
    pub cols: u16,
    pub application_cursor: bool,
    pub bracketed_paste: bool,
    pub alternate_screen: bool,
    pub cursor_hidden: bool,
}

/// The cell size in pixels reported to programs that ask (the UI's font: 13 px DejaVu Sans Mono).
pub const CELL_PIXELS: (u16, u16) = (8, 17);
/// The UI's terminal colours (`ui/src/Terminal.tsx`): foreground, background, cursor.
pub const FOREGROUND: (u8, u8, u8) = (0xd8, 0xde, 0xe9);
pub const BACKGROUND: (u8, u8, u8) = (0x0f, 0x11, 0x15);
pub const CURSOR: (u8, u8, u8) = (0xe5, 0xc0, 0x7b);
/// The first 16 palette colours of the UI's theme (the rest follow xterm's 256-colour cube).
const PALETTE16: [(u8, u8, u8); 16] = [
    (0x1d, 0x20, 0x21),
    (0xe0, 0x6c, 0x75),
    (0x98, 0xc3, 0x79),
    (0xe5, 0xc0, 0x7b),
    (0x61, 0xaf, 0xef),
    (0xc6, 0x78, 0xdd),
    (0x56, 0xb6, 0xc2),
    (0xd8, 0xde, 0xe9),
    (0x66, 0x66, 0x66),
    (0xf1, 0x4c, 0x4c),
    (0x23, 0xd1, 0x8b),
    (0xf5, 0xf5, 0x43),
    (0x3b, 0x8e, 0xea),
    (0xd6, 0x70, 0xd6),
    (0x29, 0xb8, 0xdb),
    (0xff, 0xff, 0xff),
];

/// The query a CSI sequence asks, if it is one. `intermediates` holds the private marker
/// (`?`, `>`) and intermediates (`$`) as the parser gives them; `params` the first value of each
/// parameter.
pub fn of_csi(intermediates: &[u8], params: &[u16], action: char) -> Option<Query> {
    let first = params.first().copied().unwrap_or(0);
    match (intermediates, action) {
        ([], 'c') if first == 0 => Some(Query::PrimaryAttributes),
        ([b'>'], 'c') if first == 0 => Some(Query::SecondaryAttributes),
        ([], 'n') if first == 5 => Some(Query::Status),
        ([], 'n') if first == 6 => Some(Query::CursorPosition { private: false }),
        ([b'?'], 'n') if first == 6 => Some(Query::CursorPosition { private: true }),
        ([b'$'], 'p') => Some(Query::Mode {
            private: false,
            mode: first,
        }),
        ([b'?', b'$'], 'p') => Some(Query::Mode {
            private: true,
            mode: first,
        }),
        ([b'>'], 'q') if first == 0 => Some(Query::Version),
        ([], 't') if matches!(first, 14 | 16 | 18) => Some(Query::WindowReport(first)),
        _ => None,
    }
}

/// The queries an OSC sequence asks (`OSC 4` may ask several colours at once).
pub fn of_osc(params: &[&[u8]]) -> Vec<Query> {
    let Some(code) = params.first().and_then(|p| number(p)) else {
        return Vec::new();
    };
    match code {
        // `OSC 10;?;?` asks 10 and then 11 (xterm's "next" rule).
        10..=12 => params[1..]
            .iter()
            .zip(code..=12)
            .take_while(|(p, _)| *p == b"?")
            .map(|(_, c)| Query::DynamicColor(c))
            .collect(),
        4 => params[1..]
            .chunks(2)
            .filter_map(|pair| match pair {
                [index, b"?"] => number(index)
                    .and_then(|i| u8::try_from(i).ok())
                    .map(Query::PaletteColor),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The state a program reports in-band with `OSC 7501;state=<state>:app=<name>` (Codex CLI:
/// `idle`, `working`, `done`) — not a query: nothing answers it.
pub fn reported_state(params: &[&[u8]]) -> Option<String> {
    if params.first() != Some(&&b"7501"[..]) {
        return None;
    }
    params[1..].iter().find_map(|p| {
        let text = std::str::from_utf8(p).ok()?;
        let state = text.strip_prefix("state=")?.split(':').next()?;
        (!state.is_empty() && state.len() <= 32).then(|| state.to_owned())
    })
}

fn number(bytes: &[u8]) -> Option<u16> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The answer to `query`, as bytes to write to the program; empty when there is none.
pub fn answer(query: Query, screen: &ScreenFacts) -> Vec<u8> {
    let text = match query {
        // What xterm.js answers: VT100 with advanced video.
        Query::PrimaryAttributes => "\x1b[?1;2c".to_owned(),
        Query::SecondaryAttributes => "\x1b[>0;276;0c".to_owned(),
        Query::Status => "\x1b[0n".to_owned(),
        Query::CursorPosition { private } => format!(
            "\x1b[{}{};{}R",
            if private { "?" } else { "" },
            screen.cursor_row + 1,
            screen.cursor_col + 1
        ),
        Query::Mode { private, mode } => {
            let state = mode_state(private, mode, screen);
            format!("\x1b[{}{mode};{state}$y", if private { "?" } else { "" })
        }
        Query::Version => format!("\x1bP>|Baton({})\x1b\\", env!("CARGO_PKG_VERSION")),
        Query::WindowReport(14) => format!(
            "\x1b[4;{};{}t",
            screen.rows * CELL_PIXELS.1,
            screen.cols * CELL_PIXELS.0
        ),
        Query::WindowReport(16) => format!("\x1b[6;{};{}t", CELL_PIXELS.1, CELL_PIXELS.0),
        Query::WindowReport(18) => format!("\x1b[8;{};{}t", screen.rows, screen.cols),
        Query::WindowReport(_) => return Vec::new(),
        Query::DynamicColor(code) => {
            let colour = match code {
                10 => FOREGROUND,
                11 => BACKGROUND,
                _ => CURSOR,
            };
            format!("\x1b]{code};{}\x1b\\", rgb(colour))
        }
        Query::PaletteColor(index) => {
            format!("\x1b]4;{index};{}\x1b\\", rgb(palette(index)))
        }
    };
    text.into_bytes()
}

/// DECRPM's state: 1 set, 2 reset, 0 not recognised.
fn mode_state(private: bool, mode: u16, screen: &ScreenFacts) -> u8 {
    let on = |b: bool| if b { 1 } else { 2 };
    match (private, mode) {
        (true, 1) => on(screen.application_cursor),
        (true, 25) => on(!screen.cursor_hidden),
        (true, 47 | 1047 | 1049) => on(screen.alternate_screen),
        (true, 2004) => on(screen.bracketed_paste),
        (true, 7) => 1,
        _ => 0,
    }
}

/// xterm's colour for palette index `index` (the UI's 16, then the 6×6×6 cube and the greys).
pub fn palette(index: u8) -> (u8, u8, u8) {
    match index {
        0..=15 => PALETTE16[usize::from(index)],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let grey = 8 + (index - 232) * 10;
            (grey, grey, grey)
        }
    }
}

fn rgb((r, g, b): (u8, u8, u8)) -> String {
    format!("rgb:{r:02x}{r:02x}/{g:02x}{g:02x}/{b:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACTS: ScreenFacts = ScreenFacts {
        cursor_row: 4,
        cursor_col: 9,
        rows: 45,
        cols: 108,
        application_cursor: true,
        bracketed_paste: false,
        alternate_screen: false,
        cursor_hidden: false,
    };

    fn ask(query: Option<Query>) -> String {
        String::from_utf8(answer(query.expect("a query"), &FACTS)).unwrap()
    }

    #[test]
    fn device_attributes_status_and_version() {
        assert_eq!(ask(of_csi(&[], &[], 'c')), "\x1b[?1;2c");
        assert_eq!(ask(of_csi(&[], &[0], 'c')), "\x1b[?1;2c");
        assert_eq!(ask(of_csi(b">", &[], 'c')), "\x1b[>0;276;0c");
        assert_eq!(ask(of_csi(&[], &[5], 'n')), "\x1b[0n");
        assert!(ask(of_csi(b">", &[], 'q')).starts_with("\x1bP>|Baton("));
    }

    #[test]
    fn cursor_position_is_one_based() {
        assert_eq!(ask(of_csi(&[], &[6], 'n')), "\x1b[5;10R");
        assert_eq!(ask(of_csi(b"?", &[6], 'n')), "\x1b[?5;10R");
    }

    #[test]
    fn modes_report_what_the_screen_has() {
        assert_eq!(ask(of_csi(b"?$", &[1], 'p')), "\x1b[?1;1$y");
        assert_eq!(ask(of_csi(b"?$", &[2004], 'p')), "\x1b[?2004;2$y");
        assert_eq!(ask(of_csi(b"?$", &[1007], 'p')), "\x1b[?1007;0$y");
        assert_eq!(ask(of_csi(b"$", &[4], 'p')), "\x1b[4;0$y");
    }

    #[test]
    fn sizes_in_cells_and_pixels() {
        assert_eq!(ask(of_csi(&[], &[18], 't')), "\x1b[8;45;108t");
        assert_eq!(ask(of_csi(&[], &[14], 't')), "\x1b[4;765;864t");
        assert_eq!(ask(of_csi(&[], &[16], 't')), "\x1b[6;17;8t");
        assert_eq!(
            of_csi(&[], &[8, 40, 100], 't'),
            None,
            "a resize request asks nothing"
        );
    }

    #[test]
    fn colours() {
        let q = of_osc(&[b"11", b"?"]);
        assert_eq!(q, vec![Query::DynamicColor(11)]);
        assert_eq!(ask(q.first().copied()), "\x1b]11;rgb:0f0f/1111/1515\x1b\\");
        assert_eq!(
            of_osc(&[b"10", b"?", b"?"]),
            vec![Query::DynamicColor(10), Query::DynamicColor(11)]
        );
        assert_eq!(
            of_osc(&[b"4", b"1", b"?", b"196", b"?"]),
            vec![Query::PaletteColor(1), Query::PaletteColor(196)]
        );
        assert_eq!(palette(196), (255, 0, 0));
        assert_eq!(palette(232), (8, 8, 8));
        assert!(
            of_osc(&[b"11", b"rgb:0000/0000/0000"]).is_empty(),
            "setting is not asking"
        );
        assert!(of_osc(&[b"0", b"title"]).is_empty());
    }

    #[test]
    fn ordinary_sequences_are_not_queries() {
        for (i, p, a) in [
            (&b""[..], &[1u16][..], 'm'),
            (b"?", &[1049], 'h'),
            (b"", &[2], 'J'),
            (b"", &[3], 'n'),
            (b">", &[1], 'c'),
        ] {
            assert_eq!(of_csi(i, p, a), None, "{i:?} {p:?} {a}");
        }
    }
}
