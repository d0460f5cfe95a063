//! A session's output: the log file on disk (every byte, forever), a bounded in-memory tail for
//! instant replay, and a live broadcast to viewers.
//!
//! Byte offsets count from the start of the log, across restarts of the session. A viewer
//! subscribes *before* it snapshots the tail (both under the same lock the writer takes), so no
//! byte falls between history and live, and none is seen twice.
//!
//! The writer never waits for a viewer: the broadcast drops a viewer that falls behind (it sees
//! `Lagged` and should resume from the log by offset).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::broadcast;

/// The in-memory tail kept for replay.
pub const TAIL_BYTES: usize = 4 * 1024 * 1024;
/// How many chunks a viewer may fall behind before it is dropped.
const LIVE_CHUNKS: usize = 256;

/// Bytes at a position of the output.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub offset: u64,
    pub data: Bytes,
}

struct State {
    log: Option<File>,
    tail: VecDeque<u8>,
    /// The offset just past the last byte written.
    end: u64,
}

pub struct Output {
    path: PathBuf,
    state: Mutex<State>,
    live: broadcast::Sender<Chunk>,
    /// Unix ms of the last output, for activity detection and `lastActivity`.
    last_output: AtomicI64,
}

/// What a viewer gets on connecting: the history from `offset`, then `live`.
pub struct Replay {
    pub offset: u64,
    pub history: Vec<u8>,
    pub live: broadcast::Receiver<Chunk>,
}

impl Output {
    /// Opens (or creates) the log at `path`; existing bytes count as already written.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut log = OpenOptions::new().create(true).append(true).open(path)?;
        let end = log.seek(SeekFrom::End(0))?;
        // Start the tail with the end of the existing log, so a replay after a server restart is
        // as instant as before.
        let start = end.saturating_sub(TAIL_BYTES as u64);
        // A new log (every queued start) has nothing to read back: no second open.
        let tail = if end > start {
            read_range(path, start, end - start)?
        } else {
            Vec::new()
        };
        let (live, _) = broadcast::channel(LIVE_CHUNKS);
        Ok(Self {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                log: Some(log),
                tail: tail.into(),
                end,
            }),
            live,
            last_output: AtomicI64::new(0),
        })
    }

    /// Appends `data`: to the log, the tail and every live viewer. Called by the one reader of the
    /// terminal; never blocks on a viewer.
    pub fn append(&self, data: &[u8], now_ms: i64) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = state.log.as_mut() {
            log.write_all(data)?;
        }
        let offset = state.end;
        state.end += data.len() as u64;
        let overflow = (state.tail.len() + data.len()).saturating_sub(TAIL_BYTES);
        if overflow >= state.tail.len() {
            state.tail.clear();
            let skip = data.len().saturating_sub(TAIL_BYTES);
            state.tail.extend(&data[skip..]);
        } else {
            state.tail.drain(..overflow);
            state.tail.extend(data);
        }
        // Only fails when nobody watches.
        let _unwatched = self.live.send(Chunk {
            offset,
            data: Bytes::copy_from_slice(data),
        });
        drop(state);
        self.last_output.store(now_ms, Ordering::Relaxed);
        Ok(())
    }

    /// Flushes the log to disk (at exit; appends are plain writes to the OS).
    pub fn sync(&self) -> io::Result<()> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &state.log {
            Some(log) => log.sync_data(),
            None => Ok(()),
        }
    }

    /// The offset just past the last byte.
    pub fn end(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).end
    }

    pub fn last_output_ms(&self) -> i64 {
        self.last_output.load(Ordering::Relaxed)
    }

    /// Subscribes to live output and returns the history from `from` (default: the start of the
    /// in-memory tail). History older than the tail is read from the log file.
    pub fn replay(&self, from: Option<u64>) -> io::Result<Replay> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let live = self.live.subscribe();
        let tail_start = state.end - state.tail.len() as u64;
        let from = from.unwrap_or(tail_start).min(state.end);
        let history = if from >= tail_start {
            let skip = (from - tail_start) as usize;
            state.tail.iter().skip(skip).copied().collect()
        } else {
            let end = state.end;
            drop(state);
            read_range(&self.path, from, end - from)?
        };
        Ok(Replay {
            offset: from,
            history,
            live,
        })
    }

    /// Subscribes to live output from the current end: `(end, receiver)`.
    pub fn subscribe(&self) -> (u64, broadcast::Receiver<Chunk>) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (state.end, self.live.subscribe())
    }

    /// The current end and the last `n` bytes (at most) before it, read together.
    pub fn recent_with_end(&self, n: usize) -> (u64, Vec<u8>) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let skip = state.tail.len().saturating_sub(n);
        (state.end, state.tail.iter().skip(skip).copied().collect())
    }

    /// The bytes from `from` to the end, if the in-memory tail still holds them.
    pub fn tail_from(&self, from: u64) -> Option<Vec<u8>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let tail_start = state.end - state.tail.len() as u64;
        let skip = from.checked_sub(tail_start)?;
        Some(state.tail.iter().skip(skip as usize).copied().collect())
    }

    /// Up to `limit` bytes of the log from `offset`.
    pub fn read(&self, offset: u64, limit: u64) -> io::Result<Vec<u8>> {
        let end = self.end();
        let offset = offset.min(end);
        read_range(&self.path, offset, limit.min(end - offset))
    }
}

fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut out = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_live_meet_without_gap_or_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(&dir.path().join("o.log")).unwrap();
        out.append(b"hello ", 1).unwrap();
        let mut replay = out.replay(Some(2)).unwrap();
        out.append(b"world", 2).unwrap();
        assert_eq!(replay.offset, 2);
        assert_eq!(replay.history, b"llo ");
        let chunk = replay.live.try_recv().unwrap();
        assert_eq!((chunk.offset, &chunk.data[..]), (6, &b"world"[..]));
        assert_eq!(out.read(0, 100).unwrap(), b"hello world");
        assert_eq!(out.read(6, 3).unwrap(), b"wor");
    }

    #[test]
    fn the_tail_is_bounded_and_older_history_comes_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(&dir.path().join("o.log")).unwrap();
        let block = vec![b'x'; 1024 * 1024];
        for _ in 0..5 {
            out.append(&block, 1).unwrap();
        }
        out.append(b"END", 1).unwrap();
        let replay = out.replay(None).unwrap();
        assert_eq!(replay.history.len(), TAIL_BYTES);
        assert!(replay.history.ends_with(b"END"));
        let all = out.replay(Some(0)).unwrap();
        assert_eq!(all.history.len(), 5 * 1024 * 1024 + 3);
    }

    #[test]
    fn a_reopened_log_continues_its_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.log");
        Output::open(&path)
            .unwrap()
            .append(b"first run\n", 1)
            .unwrap();
        let again = Output::open(&path).unwrap();
        assert_eq!(again.end(), 10);
        again.append(b"second\n", 2).unwrap();
        assert_eq!(again.replay(None).unwrap().history, b"first run\nsecond\n");
    }
}
