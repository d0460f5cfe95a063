//! Watching and typing into a session's terminal, for every door alike (the WebSocket of the API,
//! the Tauri channel of the desktop window): a [`Feed`] yields where it starts — the current
//! screen of a running session (from the server's screen model: instant, however much it printed)
//! or the replay header and the history from the asked-for offset —, then live output — never a
//! gap, never a byte twice — and finally how the process ended. A feed that falls too far behind
//! ends with `Lagged` and the offset to resume from.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{broadcast, watch};

use super::error::{ServiceError, ServiceResult};
use super::runtime::Run;
use super::{Actor, Service};
use crate::pty::{Chunk, Exit};

/// History goes out in pieces of at most this many bytes.
const PIECE: usize = 64 * 1024;
/// The most characters one `type_into` takes (the OpenAPI document says the same); four bytes
/// each at most, so 64 KiB.
const MAX_TYPED_CHARS: usize = 16 * 1024;
/// A viewer asking for more history than this of a running session gets its screen instead.
const MAX_REPLAY: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// First: the offset the output that follows starts at.
    Replay {
        offset: u64,
    },
    /// First, instead of `Replay`: reset the terminal and draw `data` (the screen now); the
    /// output that follows starts at `offset`.
    Screen {
        offset: u64,
        data: String,
    },
    Data(Bytes),
    /// Last, when the process has ended (or had ended before).
    Exit {
        code: Option<i32>,
        signal: Option<String>,
    },
    /// Last, when this viewer fell behind: reconnect from `resume_at`.
    Lagged {
        resume_at: u64,
    },
}

impl FeedItem {
    /// The JSON control message of a replay header, a screen or an exit, the same in every door
    /// (output bytes and falling behind are each door's own).
    pub fn control(&self) -> Option<serde_json::Value> {
        match self {
            FeedItem::Replay { offset } => {
                Some(serde_json::json!({ "type": "replay", "offset": offset }))
            }
            FeedItem::Screen { offset, data } => {
                Some(serde_json::json!({ "type": "screen", "offset": offset, "data": data }))
            }
            FeedItem::Exit { code, signal } => {
                Some(serde_json::json!({ "type": "exit", "code": code, "signal": signal }))
            }
            FeedItem::Data(_) | FeedItem::Lagged { .. } => None,
        }
    }
}

pub struct Feed {
    pending: VecDeque<FeedItem>,
    live: broadcast::Receiver<Chunk>,
    /// The offset just past the last byte handed out.
    next: u64,
    exited: Option<watch::Receiver<Option<Exit>>>,
    /// The live channel has closed (the output was dropped): only the exit is still to come.
    live_closed: bool,
    done: bool,
}

impl Feed {
    /// The next item; `None` once the feed has ended.
    pub async fn next(&mut self) -> Option<FeedItem> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let Some(exited) = self.exited.as_mut() else {
                self.done = true;
                continue;
            };
            tokio::select! {
                biased;
                chunk = self.live.recv(), if !self.live_closed => match chunk {
                    Ok(chunk) => {
                        if let Some(data) = fresh(&chunk, &mut self.next) {
                            return Some(FeedItem::Data(data));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.done = true;
                        return Some(FeedItem::Lagged { resume_at: self.next });
                    }
                    // The output can go before the exit is announced: still end with the exit.
                    Err(broadcast::error::RecvError::Closed) => self.live_closed = true,
                },
                exit = async { exited.wait_for(Option::is_some).await.ok().and_then(|e| e.clone()) } => {
                    // All output is appended before the exit is announced: take what is queued.
                    while let Ok(chunk) = self.live.try_recv() {
                        if let Some(data) = fresh(&chunk, &mut self.next) {
                            self.pending.push_back(FeedItem::Data(data));
                        }
                    }
                    let (code, signal) = exit.map_or((None, None), |e| (Some(e.code), e.signal));
                    self.pending.push_back(FeedItem::Exit { code, signal });
                    self.done = true;
                }
            }
        }
    }
}

/// The part of `chunk` past `next` (history and live may overlap at the seam).
fn fresh(chunk: &Chunk, next: &mut u64) -> Option<Bytes> {
    let end = chunk.offset + chunk.data.len() as u64;
    if end <= *next {
        return None;
    }
    let skip = next.saturating_sub(chunk.offset) as usize;
    *next = end;
    Some(chunk.data.slice(skip..))
}

impl Service {
    /// Attaches to a session's terminal from byte `offset` (default: the in-memory tail). An
    /// agent may attach to its own terminal only.
    pub async fn attach_terminal(
        &self,
        id: &str,
        offset: Option<u64>,
        actor: &Actor,
    ) -> ServiceResult<Feed> {
        // The run before the record: a run is unregistered only after its end is written, so
        // a session found without a run is read with its exit code. (The other order could read
        // the record just before the end was written and announce an exit without a code.)
        let run = self.session_run(id);
        let session = self.get_session(id, actor).await?;
        actor.may_act_as(&session.project_id, id)?;
        let output = self.session_output(id)?;
        // A running session shows its current screen, unless the viewer resumes from a recent
        // offset (then the bytes it missed are exact and few).
        let far_behind = |from: u64| output.end().saturating_sub(from) > MAX_REPLAY;
        let snapshot = run
            .as_ref()
            .filter(|_| offset.is_none_or(far_behind))
            .map(|run| run.terminal.screen().snapshot());
        let from = snapshot.as_ref().map(|s| s.offset).or(offset);
        // Subscribe (inside `replay`) before anything else can be printed: no gap.
        let replay = output
            .replay(from)
            .map_err(|e| ServiceError::Unavailable(format!("cannot read the session log: {e}")))?;
        let mut pending = VecDeque::from([match snapshot {
            Some(snapshot) => FeedItem::Screen {
                offset: replay.offset,
                data: snapshot.data,
            },
            None => FeedItem::Replay {
                offset: replay.offset,
            },
        }]);
        pending.extend(
            replay
                .history
                .chunks(PIECE)
                .map(|c| FeedItem::Data(Bytes::copy_from_slice(c))),
        );
        if run.is_none() {
            pending.push_back(FeedItem::Exit {
                code: session.exit_code,
                signal: session.signal,
            });
        }
        Ok(Feed {
            pending,
            next: replay.offset + replay.history.len() as u64,
            live: replay.live,
            exited: run.map(|r| r.terminal.exited()),
            live_closed: false,
            done: false,
        })
    }

    /// Types `bytes` into a running session's terminal (off the async runtime: a PTY's input
    /// buffer can fill up).
    pub async fn write_terminal(
        &self,
        id: &str,
        bytes: Vec<u8>,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let run = self.running(id, actor)?;
        let terminal = Arc::clone(&run.terminal);
        tokio::task::spawn_blocking(move || terminal.write(&bytes))
            .await
            .map_err(|e| ServiceError::Unavailable(e.to_string()))?
            .map_err(|e| {
                ServiceError::conflict("not_running", e.to_string(), serde_json::json!({}))
            })
    }

    /// Types `text` (1 to 16384 characters, so at most 64 KiB) into a running session's
    /// terminal, for the quick replies of the UI and scripts: the same rules as a terminal
    /// viewer's keystrokes.
    pub async fn type_into(&self, id: &str, text: &str, actor: &Actor) -> ServiceResult<()> {
        if text.is_empty() || text.chars().count() > MAX_TYPED_CHARS {
            return Err(ServiceError::invalid(
                "text",
                format!("must be from 1 to {MAX_TYPED_CHARS} characters"),
            ));
        }
        self.write_terminal(id, text.as_bytes().to_vec(), actor)
            .await
    }

    pub fn resize_terminal(
        &self,
        id: &str,
        cols: u16,
        rows: u16,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let size = super::runs::checked_size(cols, rows)?;
        let run = self.running(id, actor)?;
        run.mark_resized(crate::clock::now_ms());
        run.terminal.resize(size).map_err(|e| {
            ServiceError::conflict("not_running", e.to_string(), serde_json::json!({}))
        })
    }

    fn running(&self, id: &str, actor: &Actor) -> ServiceResult<Arc<Run>> {
        // Before looking: an agent learns nothing of another session's terminal. A session's
        // own project is the agent's own, so that is the project to ask about.
        actor.may_act_as(actor.project_scope().unwrap_or_default(), id)?;
        let run = self.session_run(id).ok_or_else(|| {
            ServiceError::conflict(
                "not_running",
                format!("session '{id}' has no running process"),
                serde_json::json!({}),
            )
        })?;
        actor.may_act_as(&run.project_id, id)?;
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: when a run's output went away before its exit was announced, the feed ended
    /// with no exit message, and `baton session logs -f` saw the connection close without one.
    #[tokio::test]
    async fn a_feed_whose_output_closes_first_still_ends_with_the_exit() {
        let (live_tx, live) = broadcast::channel::<Chunk>(8);
        let (exit_tx, exited) = watch::channel(None);
        let mut feed = Feed {
            pending: VecDeque::new(),
            live,
            next: 0,
            exited: Some(exited),
            live_closed: false,
            done: false,
        };
        live_tx
            .send(Chunk {
                offset: 0,
                data: Bytes::from_static(b"bye\n"),
            })
            .unwrap();
        drop(live_tx);
        assert_eq!(
            feed.next().await,
            Some(FeedItem::Data(Bytes::from_static(b"bye\n")))
        );
        let announce = tokio::spawn(async move {
            tokio::task::yield_now().await;
            exit_tx.send_replace(Some(Exit {
                code: 0,
                signal: None,
            }));
            exit_tx
        });
        assert_eq!(
            feed.next().await,
            Some(FeedItem::Exit {
                code: Some(0),
                signal: None
            })
        );
        assert_eq!(feed.next().await, None);
        drop(announce.await);
    }
}
