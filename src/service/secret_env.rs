//! A session's secrets — its environment's secret variables and its command's secret arguments,
//! as [`redact`] recognises them — are never stored in its database row, which shows
//! `[redacted]` in their place: the values live in `secrets.json` in the session's folder,
//! readable by its owner only, for a restart to use.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{ServiceError, ServiceResult};
use crate::security::redact::{self, REDACTED};

const FILE: &str = "secrets.json";

/// What the file keeps.
#[derive(Default, Serialize, Deserialize)]
struct Kept {
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Whole arguments, by position.
    #[serde(default)]
    argv: BTreeMap<usize, String>,
}

/// What a session's row may hold.
pub struct Shown {
    pub env: BTreeMap<String, String>,
    pub argv: Vec<String>,
}

/// Keeps the secrets of `env` and `argv` in `session_dir` and returns what the row may hold.
/// `fresh`: the folder is a new session's, with no file kept before (nothing to remove).
pub fn keep(
    session_dir: &Path,
    env: &BTreeMap<String, String>,
    argv: &[String],
    fresh: bool,
) -> ServiceResult<Shown> {
    let (shown_env, env_secrets) = redact::split_env(env);
    let (shown_argv, argv_secrets) = redact::split_argv(argv);
    let path = session_dir.join(FILE);
    if env_secrets.is_empty() && argv_secrets.is_empty() {
        if !fresh {
            match std::fs::remove_file(&path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    return Err(unavailable(err))
                }
                _ => {}
            }
        }
    } else {
        let kept = Kept {
            env: env_secrets,
            argv: argv_secrets,
        };
        let text = serde_json::to_string(&kept).expect("maps of strings serialize");
        super::runs::write_private(&path, &text).map_err(unavailable)?;
    }
    Ok(Shown {
        env: shown_env,
        argv: shown_argv,
    })
}

/// Puts the kept secrets back into what the row held (for a restart). A secret whose file is
/// gone stays `[redacted]`: the agent then sees that, rather than the server's own value.
pub fn restore(
    session_dir: &Path,
    env: &mut BTreeMap<String, String>,
    argv: &mut [String],
) -> ServiceResult<()> {
    let hidden = env
        .values()
        .chain(argv.iter())
        .any(|v| v.contains(REDACTED));
    if !hidden {
        return Ok(());
    }
    let text = match std::fs::read_to_string(session_dir.join(FILE)) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(dir = %session_dir.display(), "a session's kept secrets are gone");
            return Ok(());
        }
        Err(err) => return Err(unavailable(err)),
    };
    let kept: Kept = serde_json::from_str(&text)
        .map_err(|e| ServiceError::Unavailable(format!("{FILE} is unreadable: {e}")))?;
    redact::put_back(env, &kept.env);
    for (i, arg) in argv.iter_mut().enumerate() {
        if let Some(original) = kept.argv.get(&i) {
            arg.clone_from(original);
        }
    }
    Ok(())
}

fn unavailable(err: std::io::Error) -> ServiceError {
    ServiceError::Unavailable(format!("cannot keep the session's secrets: {err}"))
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
        let argv: Vec<String> = ["agent", "--token", "abc123", "--fast"]
            .map(String::from)
            .to_vec();
        let shown = keep(dir.path(), &env, &argv, false).unwrap();
        assert_eq!(shown.env["ANTHROPIC_API_KEY"], REDACTED);
        assert_eq!(shown.env["MODE"], "fast");
        assert_eq!(shown.argv, ["agent", "--token", REDACTED, "--fast"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (mut restored_env, mut restored_argv) = (shown.env.clone(), shown.argv.clone());
        restore(dir.path(), &mut restored_env, &mut restored_argv).unwrap();
        assert_eq!((restored_env, restored_argv), (env, argv));

        // Without secrets the file goes away; what was hidden stays hidden.
        keep(dir.path(), &BTreeMap::new(), &["sh".to_owned()], false).unwrap();
        assert!(!dir.path().join(FILE).exists());
        let (mut lost_env, mut lost_argv) = (shown.env, shown.argv);
        restore(dir.path(), &mut lost_env, &mut lost_argv).unwrap();
        assert_eq!(lost_env["ANTHROPIC_API_KEY"], REDACTED);
        assert_eq!(lost_argv[2], REDACTED);
    }
}
