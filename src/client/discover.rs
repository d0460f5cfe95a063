//! Finding the server and its token: the environment Baton gives agents first, then the data
//! folder of a server on this machine.

use std::path::{Path, PathBuf};

use super::{ClientError, ClientResult};

/// Where the server is and the token to show it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// e.g. `http://127.0.0.1:7420`, without a trailing slash.
    pub url: String,
    pub token: String,
}

/// The server to talk to. Explicit values win, then `BATON_API_URL` / `BATON_TOKEN`, then the
/// data folder's `server.json` and `token`.
pub fn discover(
    url: Option<&str>,
    token: Option<&str>,
    data_dir: Option<&Path>,
) -> ClientResult<Endpoint> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let url = url.map(str::to_owned).or_else(|| env("BATON_API_URL"));
    let token = token.map(str::to_owned).or_else(|| env("BATON_TOKEN"));
    if let (Some(url), Some(token)) = (&url, &token) {
        return Ok(Endpoint {
            url: url.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
        });
    }
    let dir = match data_dir {
        Some(d) => d.to_path_buf(),
        None => match env("BATON_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => crate::config::platform_data_dir().ok_or_else(|| {
                ClientError::Setup(
                    "no data folder: set BATON_API_URL and BATON_TOKEN, or pass --data-dir".into(),
                )
            })?,
        },
    };
    let url = match url {
        Some(u) => u,
        None => recorded_url(&dir)?,
    };
    let token = match token {
        Some(t) => t,
        None => std::fs::read_to_string(dir.join("token"))
            .map_err(|e| {
                ClientError::Setup(format!(
                    "cannot read the API token in {}: {e}",
                    dir.join("token").display()
                ))
            })?
            .trim()
            .to_owned(),
    };
    Ok(Endpoint {
        url: url.trim_end_matches('/').to_owned(),
        token,
    })
}

fn recorded_url(dir: &Path) -> ClientResult<String> {
    let path = dir.join("server.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        ClientError::NotRunning(format!(
            "no server has recorded its address in {} (start it with `baton serve` or open the desktop app)",
            path.display()
        ))
    })?;
    let info: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ClientError::Setup(format!("{} is damaged: {e}", path.display())))?;
    info["url"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Setup(format!("{} names no url", path.display())))
}
