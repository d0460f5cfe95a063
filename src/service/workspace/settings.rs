//! A project's workspace settings, read from its settings object (and a `baton.json` at the
//! repository root, which the project's own settings override). Pure: parsing and naming only.
//!
//! | setting | meaning |
//! | --- | --- |
//! | `workspaceMode` | `worktree` (each task in its own git worktree; the default for a git folder) or `shared` (every task in the project folder) |
//! | `baseBranch` | the branch task branches start from and merge into (default: the folder's current branch) |
//! | `worktreeRoot` | an absolute folder for the worktrees (default: `<data>/worktrees`) |
//! | `setup`, `run`, `teardown` | argv arrays: run in a new worktree before its agent; started on demand; run before a worktree is removed |

use std::path::PathBuf;

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Worktree,
    Shared,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Worktree => "worktree",
            Mode::Shared => "shared",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `None`: the default (a worktree when the folder is a git repository).
    pub mode: Option<Mode>,
    pub base_branch: Option<String>,
    pub worktree_root: Option<PathBuf>,
    pub setup: Option<Vec<String>>,
    pub run: Option<Vec<String>>,
    pub teardown: Option<Vec<String>>,
}

/// A wrong setting: its name (as `settings.<key>`) and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Wrong {
    pub field: String,
    pub problem: String,
}

fn wrong(key: &str, problem: impl Into<String>) -> Wrong {
    Wrong {
        field: format!("settings.{key}"),
        problem: problem.into(),
    }
}

/// The workspace settings in a settings object (other keys are not looked at).
pub fn parse(settings: &Map<String, Value>) -> Result<Settings, Wrong> {
    let mut out = Settings::default();
    if let Some(v) = settings.get("workspaceMode").filter(|v| !v.is_null()) {
        out.mode = Some(match v.as_str() {
            Some("worktree") => Mode::Worktree,
            Some("shared") => Mode::Shared,
            _ => return Err(wrong("workspaceMode", "must be \"worktree\" or \"shared\"")),
        });
    }
    if let Some(v) = settings.get("baseBranch").filter(|v| !v.is_null()) {
        let name = v
            .as_str()
            .ok_or_else(|| wrong("baseBranch", "must be a branch name"))?;
        check_branch(name).map_err(|p| wrong("baseBranch", p))?;
        out.base_branch = Some(name.to_owned());
    }
    if let Some(v) = settings.get("worktreeRoot").filter(|v| !v.is_null()) {
        let path = v
            .as_str()
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .ok_or_else(|| wrong("worktreeRoot", "must be an absolute path"))?;
        out.worktree_root = Some(path);
    }
    for (key, slot) in [
        ("setup", &mut out.setup),
        ("run", &mut out.run),
        ("teardown", &mut out.teardown),
    ] {
        if let Some(v) = settings.get(key).filter(|v| !v.is_null()) {
            *slot = Some(argv(key, v)?);
        }
    }
    Ok(out)
}

/// `over`'s settings, each falling back to `under`'s (the project's over `baton.json`).
pub fn layered(over: Settings, under: Settings) -> Settings {
    Settings {
        mode: over.mode.or(under.mode),
        base_branch: over.base_branch.or(under.base_branch),
        worktree_root: over.worktree_root.or(under.worktree_root),
        setup: over.setup.or(under.setup),
        run: over.run.or(under.run),
        teardown: over.teardown.or(under.teardown),
    }
}

fn argv(key: &str, value: &Value) -> Result<Vec<String>, Wrong> {
    let problem = "must be a non-empty array of strings (an argv, never a shell string)";
    let items = value.as_array().ok_or_else(|| wrong(key, problem))?;
    let argv: Vec<String> = items
        .iter()
        .map(|i| i.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| wrong(key, problem))?;
    if argv.first().is_none_or(|p| p.trim().is_empty()) || argv.iter().any(|a| a.contains('\0')) {
        return Err(wrong(key, problem));
    }
    Ok(argv)
}

/// Whether `name` is a branch name git accepts (the rules of `git check-ref-format --branch`).
pub fn check_branch(name: &str) -> Result<(), &'static str> {
    let bad = name.is_empty()
        || name.len() > 200
        || name.starts_with('-')
        || name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with('.')
        || name.ends_with(".lock")
        || name.contains("..")
        || name.contains("//")
        || name.contains("@{")
        || name == "@"
        || name.split('/').any(|part| part.starts_with('.'))
        || name
            .chars()
            .any(|c| c.is_control() || " ~^:?*[\\".contains(c));
    if bad {
        Err("is not a valid git branch name")
    } else {
        Ok(())
    }
}

/// A task's branch: `baton/<slug of its title>-<the last 8 characters of its id>`.
pub fn branch_name(title: &str, task_id: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let short: String = task_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    match slug.is_empty() {
        true => format!("baton/task-{short}"),
        false => format!("baton/{slug}-{short}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn settings_are_read_and_wrong_ones_named() {
        let s = parse(&map(json!({
            "workspaceMode": "worktree", "baseBranch": "main", "worktreeRoot": "/tmp/wt",
            "setup": ["npm", "ci"], "other": 1,
        })))
        .unwrap();
        assert_eq!(s.mode, Some(Mode::Worktree));
        assert_eq!(s.base_branch.as_deref(), Some("main"));
        assert_eq!(s.setup, Some(vec!["npm".to_owned(), "ci".to_owned()]));
        assert_eq!(parse(&map(json!({}))).unwrap(), Settings::default());
        for (bad, field) in [
            (json!({"workspaceMode": "copy"}), "settings.workspaceMode"),
            (json!({"baseBranch": "a b"}), "settings.baseBranch"),
            (json!({"baseBranch": "../x"}), "settings.baseBranch"),
            (json!({"worktreeRoot": "rel/dir"}), "settings.worktreeRoot"),
            (json!({"setup": "npm ci"}), "settings.setup"),
            (json!({"run": []}), "settings.run"),
            (json!({"teardown": [1]}), "settings.teardown"),
        ] {
            assert_eq!(parse(&map(bad.clone())).unwrap_err().field, field, "{bad}");
        }
    }

    #[test]
    fn the_project_overrides_baton_json() {
        let project = parse(&map(json!({"setup": ["make"]}))).unwrap();
        let file = parse(&map(json!({"setup": ["npm", "ci"], "baseBranch": "dev"}))).unwrap();
        let s = layered(project, file);
        assert_eq!(s.setup, Some(vec!["make".to_owned()]));
        assert_eq!(s.base_branch.as_deref(), Some("dev"));
    }

    #[test]
    fn branch_names_are_slugs_with_a_short_id() {
        assert_eq!(
            branch_name("Fix the login page!", "task_0123456789abcdef"),
            "baton/fix-the-login-page-89abcdef"
        );
        assert_eq!(branch_name("???", "t1"), "baton/task-t1");
        assert!(branch_name(&"x".repeat(300), "t1").len() < 60);
        for title in ["Über café", "a..b", "-lead", "trail.", "x/y", "tab\there"] {
            let name = branch_name(title, "task_abc");
            assert_eq!(check_branch(&name), Ok(()), "{name}");
        }
    }
}
