//! Reading a unified diff as `git diff` prints it (with `a/` and `b/` prefixes, rename
//! detection on) into files and hunks. Pure: the text in, the review's shape out, with a cap on
//! the hunk text kept (counts stay exact past it).

use crate::model::{DiffFile, DiffHunk, FileChange};

/// The files of `patch`, keeping at most `cap` bytes of hunk lines in all; the second value
/// says whether some were left out.
pub fn parse(patch: &str, cap: usize) -> (Vec<DiffFile>, bool) {
    let mut files: Vec<DiffFile> = Vec::new();
    let mut kept = 0usize;
    let mut truncated = false;
    let mut in_hunk = false;
    for line in patch.split('\n') {
        if let Some(header) = line.strip_prefix("diff --git ") {
            files.push(DiffFile {
                path: header_path(header),
                old_path: None,
                status: FileChange::Modified,
                additions: 0,
                deletions: 0,
                binary: false,
                hunks: Vec::new(),
                truncated: false,
            });
            in_hunk = false;
            continue;
        }
        let Some(file) = files.last_mut() else {
            continue;
        };
        if in_hunk {
            let kind = line.chars().next();
            match kind {
                Some('+') => file.additions += 1,
                Some('-') => file.deletions += 1,
                Some(' ') | Some('\\') => {}
                _ if line.starts_with("@@") => {}
                _ => {
                    in_hunk = false;
                }
            }
            if matches!(kind, Some('+' | '-' | ' ' | '\\')) {
                if kept + line.len() + 1 > cap {
                    file.truncated = true;
                    truncated = true;
                } else if let Some(hunk) = file.hunks.last_mut() {
                    kept += line.len() + 1;
                    hunk.lines.push(line.to_owned());
                }
                continue;
            }
        }
        if line.starts_with("@@") {
            in_hunk = true;
            let (old_start, old_lines, new_start, new_lines) = hunk_range(line);
            file.hunks.push(DiffHunk {
                header: line.to_owned(),
                old_start,
                old_lines,
                new_start,
                new_lines,
                lines: Vec::new(),
            });
        } else if line.starts_with("new file mode") {
            file.status = FileChange::Added;
        } else if line.starts_with("deleted file mode") {
            file.status = FileChange::Deleted;
        } else if let Some(from) = line.strip_prefix("rename from ") {
            file.status = FileChange::Renamed;
            file.old_path = Some(unquote(from));
        } else if let Some(to) = line.strip_prefix("rename to ") {
            file.path = unquote(to);
        } else if let Some(from) = line.strip_prefix("copy from ") {
            file.status = FileChange::Copied;
            file.old_path = Some(unquote(from));
        } else if let Some(to) = line.strip_prefix("copy to ") {
            file.path = unquote(to);
        } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
            file.binary = true;
        } else if let Some(new) = line.strip_prefix("+++ ") {
            if let Some(p) = strip_side(new, "b/") {
                file.path = p;
            }
        } else if let Some(old) = line.strip_prefix("--- ") {
            if file.status == FileChange::Deleted {
                if let Some(p) = strip_side(old, "a/") {
                    file.path = p;
                }
            }
        }
    }
    (files, truncated)
}

/// `a/x b/x` → `x` (the usual case: the same path twice); otherwise the part after ` b/`.
fn header_path(header: &str) -> String {
    if let Some(quoted) = header.strip_prefix('"') {
        // "a/with\ttab" "b/with\ttab"
        if let Some(end) = quoted.find("\" \"") {
            let second = &quoted[end + 2..];
            return strip_side(second, "b/").unwrap_or_default();
        }
    }
    let rest = header.strip_prefix("a/").unwrap_or(header);
    let half = rest.len().saturating_sub(3) / 2;
    if rest.len() >= 3 && rest.is_char_boundary(half) {
        let (a, b) = rest.split_at(half);
        if b.strip_prefix(" b/") == Some(a) {
            return a.to_owned();
        }
    }
    rest.rsplit_once(" b/")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_else(|| rest.to_owned())
}

fn strip_side(text: &str, prefix: &str) -> Option<String> {
    let text = unquote(text);
    text.strip_prefix(prefix).map(str::to_owned)
}

/// Git quotes paths with unusual bytes C-style (`"tab\there"`, octal for non-ASCII).
fn unquote(text: &str) -> String {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return text.to_owned();
    };
    let mut bytes = Vec::new();
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(d @ b'0'..=b'7') => {
                let mut value = (d - b'0') as u32;
                for _ in 0..2 {
                    if let Some(&n @ b'0'..=b'7') = chars.peek() {
                        value = value * 8 + (n - b'0') as u32;
                        chars.next();
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `@@ -1,3 +1,4 @@ fn x` → (1, 3, 1, 4).
fn hunk_range(line: &str) -> (u32, u32, u32, u32) {
    let mut parts = line.split(' ').skip(1);
    let mut side = |prefix: char| {
        parts
            .next()
            .and_then(|p| p.strip_prefix(prefix))
            .map(|p| {
                let mut it = p.split(',');
                let start = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let count = it.next().and_then(|s| s.parse().ok()).unwrap_or(1);
                (start, count)
            })
            .unwrap_or((0, 0))
    };
    let (os, ol) = side('-');
    let (ns, nl) = side('+');
    (os, ol, ns, nl)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/src/app.rs b/src/app.rs
index 1111111..2222222 100644
--- a/src/app.rs
+++ b/src/app.rs
@@ -1,3 +1,4 @@ fn main() {
 one
-two
+deux
+trois
 three
diff --git a/new file.txt b/new file.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new file.txt
@@ -0,0 +1 @@
+hello
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..5555555
Binary files /dev/null and b/logo.png differ
diff --git a/old name.md b/docs/new name.md
similarity index 100%
rename from old name.md
rename to docs/new name.md
diff --git \"a/tab\\there\" \"b/tab\\there\"
index 6666666..7777777 100644
--- \"a/tab\\there\"
+++ \"b/tab\\there\"
@@ -1 +1 @@
-x
\\ No newline at end of file
+y
";

    #[test]
    fn files_statuses_counts_and_hunks() {
        let (files, truncated) = parse(PATCH, usize::MAX);
        assert!(!truncated);
        let seen: Vec<(&str, FileChange, u32, u32, bool)> = files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.status,
                    f.additions,
                    f.deletions,
                    f.binary,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("src/app.rs", FileChange::Modified, 2, 1, false),
                ("new file.txt", FileChange::Added, 1, 0, false),
                ("gone.txt", FileChange::Deleted, 0, 2, false),
                ("logo.png", FileChange::Added, 0, 0, true),
                ("docs/new name.md", FileChange::Renamed, 0, 0, false),
                ("tab\there", FileChange::Modified, 1, 1, false),
            ]
        );
        assert_eq!(files[4].old_path.as_deref(), Some("old name.md"));
        let hunk = &files[0].hunks[0];
        assert_eq!(
            (
                hunk.old_start,
                hunk.old_lines,
                hunk.new_start,
                hunk.new_lines
            ),
            (1, 3, 1, 4)
        );
        assert_eq!(hunk.lines, [" one", "-two", "+deux", "+trois", " three"]);
        assert_eq!(files[1].hunks[0].new_lines, 1, "a count of one is left out");
        assert_eq!(files[5].hunks[0].lines.len(), 3);
    }

    #[test]
    fn the_cap_keeps_counts_exact_and_says_so() {
        let (files, truncated) = parse(PATCH, 12);
        assert!(truncated);
        assert_eq!(files[0].additions, 2);
        assert_eq!(files[2].deletions, 2);
        assert!(files[0].truncated);
        let kept: usize = files
            .iter()
            .flat_map(|f| &f.hunks)
            .flat_map(|h| &h.lines)
            .map(|l| l.len() + 1)
            .sum();
        assert!(kept <= 12);
    }
}
