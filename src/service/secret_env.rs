//! A session's secret environment (API keys and the like, as [`redact`] recognises them) is
//! never stored in its database row, which shows `[redacted]` in their place: the values live in
//! `secret-env.json` in the session's folder, readable by its owner only, for a restart to use.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{ServiceError, ServiceResult};
use crate::security::redact::{self, REDACTED};

const FILE: &str = "secret-env.json";

/// Keeps `env`'s secrets in `session_dir` and returns what the row may hold.
pub fn keep(
    session_dir: &Path,
    env: &BTreeMap<String, String>,
) -> ServiceResult<BTreeMap<String, String>> {
    let (shown, secret) = redact::split_env(env);
    let path = session_dir.join(FILE);
    if secret.is_empty() {
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(unavailable(err)),
            _ => {}
        }
    } else {
        let text = serde_json::to_string(&secret).expect("a map of strings serializes");
        super::runs::write_private(&path, &text).map_err(unavailable)?;
    }
    Ok(shown)
}

/// Puts the kept secrets back into a stored environment (for a restart). A secret whose file
/// is gone stays `[redacted]`: the agent then sees that, rather than the server's own value.
pub fn restore(session_dir: &Path, env: &mut BTreeMap<String, String>) -> ServiceResult<()> {
    if !env.values().any(|v| v == REDACTED) {
        return Ok(());
    }
    let text = match std::fs::read_to_string(session_dir.join(FILE)) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(dir = %session_dir.display(), "a session's secret environment is gone");
            return Ok(());
        }
        Err(err) => return Err(unavailable(err)),
    };
    let secret: BTreeMap<String, String> = serde_json::from_str(&text)
        .map_err(|e| ServiceError::Unavailable(format!("{FILE} is unreadable: {e}")))?;
    for (name, value) in env.iter_mut() {
        if value == REDACTED {
            if let Some(kept) = secret.get(name) {
                value.clone_from(kept);
            }
        }
    }
    Ok(())
}

fn unavailable(err: std::io::Error) -> ServiceError {
    ServiceError::Unavailable(format!(
        "cannot keep the session's secret environment: {err}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_to_an_owner_only_file_and_come_back_for_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let env = BTreeMap::from([
            (
                "ANTHROPIC_API_KEY".to_owned(),
                "sk-ant-api03-abcdefghijklmnop".to_owned(),
            ),
            ("MODE".to_owned(), "fast".to_owned()),
        ]);
        let shown = keep(dir.path(), &env).unwrap();
        assert_eq!(shown["ANTHROPIC_API_KEY"], REDACTED);
        assert_eq!(shown["MODE"], "fast");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut restored = shown.clone();
        restore(dir.path(), &mut restored).unwrap();
        assert_eq!(restored, env);

        // Without secrets the file goes away.
        keep(
            dir.path(),
            &BTreeMap::from([("MODE".to_owned(), "x".to_owned())]),
        )
        .unwrap();
        assert!(!dir.path().join(FILE).exists());
        let mut lost = shown;
        restore(dir.path(), &mut lost).unwrap();
        assert_eq!(lost["ANTHROPIC_API_KEY"], REDACTED);
    }
}
