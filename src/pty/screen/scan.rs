//! Finding terminal queries in output the screen model does not parse (a flood beyond its
//! budget): a `memchr` for ESC and a look at the few bytes after each, far cheaper than a
//! parser. A sequence cut by the end of a chunk is kept and completed by the next one.
//!
//! [`Scanner::strip`] removes the queries instead, for a viewer whose own terminal would answer
//! them (`baton session attach` in a real terminal): the server has answered them already.

use super::queries::{self, Query};

const ESC: u8 = 0x1b;
/// An unfinished sequence longer than this is no query: it is dropped.
const MAX_SEQUENCE: usize = 256;

/// Carries an unfinished escape sequence from one chunk to the next.
#[derive(Default)]
pub struct Scanner {
    carry: Vec<u8>,
}

enum Found {
    /// A complete sequence of this many bytes, a query or not.
    Done(usize, Option<Vec<Query>>),
    /// This many bytes began a sequence that was cancelled (by ESC, CAN or SUB): a terminal
    /// shows nothing for them.
    Aborted(usize),
    /// The bytes end inside the sequence.
    Incomplete,
}

/// A piece of the output: plain bytes, one complete escape sequence and what it asks, or the
/// start of a cancelled one.
enum Piece<'a> {
    Bytes(&'a [u8]),
    Sequence(&'a [u8], Option<Vec<Query>>),
    Aborted,
}

impl Scanner {
    /// The queries in `chunk` (and in a sequence the previous chunk left unfinished), in order.
    pub fn scan(&mut self, chunk: &[u8]) -> Vec<Query> {
        let mut found = Vec::new();
        self.walk(chunk, |piece| {
            if let Piece::Sequence(_, Some(queries)) = piece {
                found.extend(queries);
            }
        });
        found
    }

    /// `chunk` without its queries. Bytes of a sequence that the chunk leaves unfinished are held
    /// back until the next chunk completes it. A cancelled sequence's start is dropped too (the
    /// terminal would drop it): kept, it could join what follows a removed query into a new one.
    pub fn strip(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        self.walk(chunk, |piece| match piece {
            Piece::Bytes(bytes) | Piece::Sequence(bytes, None) => out.extend_from_slice(bytes),
            Piece::Sequence(_, Some(_)) | Piece::Aborted => {}
        });
        out
    }

    /// Cuts the carried bytes and `chunk` into pieces, in order; keeps a sequence left unfinished
    /// at the end for the next chunk (one too long to be a query passes as plain bytes).
    fn walk(&mut self, chunk: &[u8], mut piece: impl FnMut(Piece<'_>)) {
        let joined;
        let data = if self.carry.is_empty() {
            chunk
        } else {
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(chunk);
            joined = carry;
            &joined[..]
        };
        let mut at = 0;
        while let Some(p) = memchr::memchr(ESC, &data[at..]) {
            let start = at + p;
            piece(Piece::Bytes(&data[at..start]));
            match sequence(&data[start..]) {
                Found::Done(len, queries) => {
                    piece(Piece::Sequence(&data[start..start + len], queries));
                    at = start + len;
                }
                Found::Aborted(len) => {
                    piece(Piece::Aborted);
                    at = start + len;
                }
                Found::Incomplete if data.len() - start <= MAX_SEQUENCE => {
                    self.carry = data[start..].to_vec();
                    return;
                }
                Found::Incomplete => {
                    at = start;
                    break;
                }
            }
        }
        piece(Piece::Bytes(&data[at..]));
    }
}

/// The escape sequence at the start of `bytes` (which starts with ESC).
fn sequence(bytes: &[u8]) -> Found {
    match bytes.get(1) {
        None => Found::Incomplete,
        Some(b'[') => csi(bytes),
        Some(b']') => osc(bytes),
        Some(_) => Found::Done(2, None),
    }
}

fn csi(bytes: &[u8]) -> Found {
    let mut marker = Vec::new();
    let mut params = Vec::new();
    let mut current: Option<u16> = None;
    for (i, &b) in bytes.iter().enumerate().skip(2) {
        match b {
            b'<'..=b'?' if i == 2 => marker.push(b),
            b'0'..=b'9' => {
                current = Some(
                    current
                        .unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(u16::from(b - b'0')),
                )
            }
            b';' | b':' => params.push(current.take().unwrap_or(0)),
            // ESC starts another sequence; CAN and SUB cancel this one (and are consumed).
            ESC => return Found::Aborted(i),
            0x18 | 0x1a => return Found::Aborted(i + 1),
            // Other controls are carried out in the middle of a sequence, as a terminal does;
            // DEL is ignored.
            0x00..=0x1f | 0x7f => {}
            0x20..=0x2f => marker.push(b),
            0x40..=0x7e => {
                if let Some(p) = current {
                    params.push(p);
                }
                let query = queries::of_csi(&marker, &params, b as char);
                return Found::Done(i + 1, query.map(|q| vec![q]));
            }
            // Not a well-formed CSI: stop looking at it.
            _ => return Found::Done(i, None),
        }
    }
    Found::Incomplete
}

fn osc(bytes: &[u8]) -> Found {
    let body = &bytes[2..];
    let end = body.iter().enumerate().find_map(|(i, &b)| match b {
        0x07 => Some((i, 1)),
        ESC if body.get(i + 1) == Some(&b'\\') => Some((i, 2)),
        ESC if i + 1 < body.len() => Some((i, 0)),
        _ => None,
    });
    match end {
        None => Found::Incomplete,
        Some((len, terminator)) => {
            let params: Vec<&[u8]> = body[..len].split(|&b| b == b';').collect();
            let found = queries::of_osc(&params);
            match (found.is_empty(), terminator) {
                // Cut short by another sequence, and no query: nothing to show.
                (true, 0) => Found::Aborted(2 + len),
                (true, _) => Found::Done(2 + len + terminator, None),
                (false, _) => Found::Done(2 + len + terminator, Some(found)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_found_among_other_sequences() {
        let mut s = Scanner::default();
        let found = s.scan(b"text \x1b[1;32mgreen\x1b[0m \x1b[c \x1b[6n \x1b]11;?\x07 \x1b]0;title\x07 \x1b[?2004h \x1b[>c");
        assert_eq!(
            found,
            vec![
                Query::PrimaryAttributes,
                Query::CursorPosition { private: false },
                Query::DynamicColor(11),
                Query::SecondaryAttributes,
            ]
        );
        assert_eq!(
            s.scan(b"\x1b[?1$p\x1b]10;?\x1b\\"),
            vec![
                Query::Mode {
                    private: true,
                    mode: 1
                },
                Query::DynamicColor(10)
            ]
        );
    }

    #[test]
    fn a_query_cut_between_chunks_is_found_once() {
        let mut s = Scanner::default();
        assert!(s.scan(b"lots of text \x1b").is_empty());
        assert!(s.scan(b"[").is_empty());
        assert_eq!(
            s.scan(b"6n more"),
            vec![Query::CursorPosition { private: false }]
        );
        assert!(s.scan(b"\x1b]11;").is_empty());
        assert_eq!(s.scan(b"?\x07"), vec![Query::DynamicColor(11)]);
        assert!(s.scan(b"plain").is_empty());
    }

    #[test]
    fn strip_removes_queries_and_keeps_everything_else() {
        let mut s = Scanner::default();
        assert_eq!(
            s.strip(b"a\x1b[1mb\x1b[cc\x1b]11;?\x07d\x1b]0;t\x07"),
            b"a\x1b[1mbcd\x1b]0;t\x07"
        );
        // Cut in the middle: held back, then dropped (a query) or passed (not one).
        assert_eq!(s.strip(b"x\x1b["), b"x");
        assert_eq!(s.strip(b"6ny\x1b["), b"y");
        assert_eq!(s.strip(b"31mz"), b"\x1b[31mz");
    }

    #[test]
    fn an_endless_sequence_is_dropped() {
        let mut s = Scanner::default();
        let mut long = b"\x1b]0;".to_vec();
        long.extend(std::iter::repeat_n(b'x', 1000));
        assert!(s.scan(&long).is_empty());
        assert_eq!(s.scan(b"\x1b[c"), vec![Query::PrimaryAttributes]);
    }

    /// Found by the property below: a sequence cut short by a query must not be kept, or it
    /// joins what follows the removed query into a new query (`ESC [` + `ESC[c` + `c`).
    #[test]
    fn a_cancelled_sequence_does_not_join_into_a_new_query() {
        let out = Scanner::default().strip(b"\x1b[\x1b[cc");
        assert_eq!(out, b"c");
        assert!(Scanner::default().scan(&out).is_empty());
        // An OSC cut short the same way.
        let out = Scanner::default().strip(b"\x1b]11;\x1b]11;?\x07?\x07");
        assert!(Scanner::default().scan(&out).is_empty(), "{out:?}");
        // A control inside a CSI is carried out, as a terminal does: still a query.
        assert_eq!(Scanner::default().scan(b"\x1b[\n6n").len(), 1);
    }

    proptest::proptest! {
        /// Any output, cut anywhere: the same queries as uncut, the same bytes stripped, and
        /// nothing left to answer in what was stripped.
        #[test]
        fn scanning_does_not_depend_on_where_output_is_cut(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::prelude::Just(0x1b),
                    proptest::prelude::Just(b'['),
                    proptest::prelude::Just(b']'),
                    proptest::prelude::Just(b'c'),
                    proptest::prelude::Just(b'n'),
                    proptest::prelude::Just(b'6'),
                    proptest::prelude::Just(b'?'),
                    proptest::prelude::Just(0x07),
                ],
                0..300,
            ),
            cuts in proptest::collection::vec(0usize..300, 0..6),
        ) {
            let mut whole = Scanner::default();
            let queries = whole.scan(&bytes);
            let stripped = Scanner::default().strip(&bytes);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let (mut parts_scan, mut parts_strip) = (Scanner::default(), Scanner::default());
            let (mut found, mut kept, mut from) = (Vec::new(), Vec::new(), 0);
            for to in cuts.into_iter().chain([bytes.len()]) {
                found.extend(parts_scan.scan(&bytes[from..to]));
                kept.extend(parts_strip.strip(&bytes[from..to]));
                from = to;
            }
            proptest::prop_assert_eq!(&found, &queries);
            proptest::prop_assert_eq!(&kept, &stripped);
            let mut again = Scanner::default();
            let left = again.scan(&stripped);
            proptest::prop_assert!(left.is_empty(), "still to answer after stripping: {:?}", left);
        }
    }
}
