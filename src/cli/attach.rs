//! `baton session attach`: this terminal becomes a viewer of the session's terminal, like
//! `tmux attach`. The local terminal goes into raw mode (every key goes to the agent, Ctrl-C
//! included), its size follows this window, and Ctrl-] detaches (the agent keeps running).

use std::io::{IsTerminal, Read};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::run::Ctx;
use super::sessions::{exit_words, write_out};
use crate::client::{ClientError, ClientResult};

/// The detach key: Ctrl-] (as in telnet).
pub const DETACH: u8 = 0x1d;

/// Raw mode for as long as it lives; the terminal is restored however attach ends.
struct RawMode;

impl RawMode {
    fn enter() -> ClientResult<Self> {
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| ClientError::Setup(format!("cannot put the terminal in raw mode: {e}")))?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Err(err) = crossterm::terminal::disable_raw_mode() {
            eprintln!("baton: cannot restore the terminal ({err}); run `reset`");
        }
    }
}

pub(super) async fn attach(ctx: &Ctx, id: &str) -> ClientResult<()> {
    let session = super::output::value(ctx.client.get_session(id).await?);
    let ws = ctx.client.terminal(id, false).await?;
    let (mut tx, mut rx) = ws.split();

    let interactive = std::io::stdin().is_terminal();
    eprintln!(
        "[attached to {} ({}) — detach with Ctrl-]]",
        session["name"].as_str().unwrap_or(id),
        session["status"].as_str().unwrap_or("?")
    );
    let _raw = if interactive {
        Some(RawMode::enter()?)
    } else {
        None
    };
    if let Some(resize) = resize_message() {
        send(&mut tx, resize).await?;
    }
    let mut keys = read_stdin();
    #[cfg(unix)]
    let mut winch =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
            .map_err(|e| ClientError::Setup(format!("cannot watch the window size: {e}")))?;
    let mut stdin_open = true;
    let mut queries = crate::pty::screen::scan::Scanner::default();
    loop {
        #[cfg(unix)]
        let resized = winch.recv();
        #[cfg(not(unix))]
        let resized = std::future::pending::<Option<()>>();
        tokio::select! {
            frame = rx.next() => match frame {
                // This terminal must not answer the program's queries: the server has.
                Some(Ok(Message::Binary(bytes))) => write_out(&queries.strip(&bytes))?,
                Some(Ok(Message::Text(text))) => {
                    let control: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if control["type"] == "screen" {
                        // The current screen, drawn from the top of a cleared window.
                        write_out(b"\x1b[H\x1b[2J")?;
                        write_out(control["data"].as_str().unwrap_or_default().as_bytes())?;
                    }
                    if control["type"] == "exit" {
                        drop(_raw);
                        eprintln!("\r\n[{}]", exit_words(&control));
                        return Ok(());
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    drop(_raw);
                    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    eprintln!("\r\n[the server closed the terminal{}]", if reason.is_empty() { String::new() } else { format!(": {reason}") });
                    return Ok(());
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(ClientError::Protocol(format!("the terminal stream broke off: {err}"))),
                None => return Ok(()),
            },
            chunk = keys.recv(), if stdin_open => match chunk {
                Some(bytes) => match bytes.iter().position(|b| *b == DETACH) {
                    Some(at) => {
                        if at > 0 {
                            send(&mut tx, Message::Binary(bytes[..at].to_vec().into())).await?;
                        }
                        drop(_raw);
                        eprintln!("\r\n[detached; the agent keeps running]");
                        return Ok(());
                    }
                    None => send(&mut tx, Message::Binary(bytes.into())).await?,
                },
                None => stdin_open = false,
            },
            _ = resized => {
                if let Some(resize) = resize_message() {
                    send(&mut tx, resize).await?;
                }
            }
        }
    }
}

async fn send<S>(tx: &mut S, message: Message) -> ClientResult<()>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    tx.send(message)
        .await
        .map_err(|e| ClientError::Protocol(format!("cannot send to the terminal: {e}")))
}

/// `{"type":"resize"}` for this terminal's size, when it is a terminal.
fn resize_message() -> Option<Message> {
    let (cols, rows) = crossterm::terminal::size().ok()?;
    Some(Message::Text(
        json!({ "type": "resize", "cols": cols, "rows": rows })
            .to_string()
            .into(),
    ))
}

/// Stdin in chunks as they arrive. A plain thread (not the runtime's blocking pool), so that
/// leaving attach never waits for a read that may never return.
fn read_stdin() -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}
