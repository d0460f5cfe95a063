// A task's workspace in the UI: where it works (its worktree and branch, or the shared folder
// and why), its conflicts with sibling tasks, and the review dialog — the changed files and
// their diff (unified or side by side, syntax-highlighted by highlight.js), kept current while
// the agent works, with line comments sent to the agent in one click.

import { useEffect, useMemo, useState } from 'preact/hooks';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import type { Store, State } from './store';
import type { DiffFile, ReviewComment, Task, TaskConflict, TaskDiff, Workspace } from './types';

for (const [name, lang] of Object.entries({ bash, css, go, javascript, json, markdown, python, rust, typescript, xml, yaml })) {
  hljs.registerLanguage(name, lang);
}

const BY_EXTENSION: Record<string, string> = {
  rs: 'rust', ts: 'typescript', tsx: 'typescript', js: 'javascript', jsx: 'javascript', mjs: 'javascript',
  json: 'json', md: 'markdown', py: 'python', go: 'go', css: 'css', html: 'xml', xml: 'xml', svg: 'xml',
  yml: 'yaml', yaml: 'yaml', sh: 'bash', bash: 'bash', toml: 'bash',
};

function escape(text: string) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One line of code as highlighted HTML (plain when the language is unknown). */
function highlight(code: string, path: string): string {
  const lang = BY_EXTENSION[path.split('.').pop()?.toLowerCase() ?? ''];
  if (!lang) return escape(code);
  try { return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value; } catch { return escape(code); }
}

/** The task's workspace in its details: folder, branch, conflicts, and the way to review. */
export function WorkspaceSection({ store, state, task }: { store: Store; state: State; task: Task }) {
  const [ws, setWs] = useState<Workspace | null>(null);
  useEffect(() => { store.api.taskWorkspace(task.id).then(setWs).catch(() => setWs(null)); }, [task.id, state.runsSeq, state.workspaceSeq]);
  const conflicts = state.conflicts[task.id] ?? [];
  if (!ws) return null;
  if (ws.mode === 'shared') return <p class="muted workspace-line" data-mode="shared">Shared folder{ws.path ? ` ${ws.path}` : ''} — {ws.reason}</p>;
  return (
    <div class="workspace" data-mode="worktree">
      {ws.branch
        ? <p class="muted workspace-line"><code>{ws.branch}</code> from <code>{ws.baseBranch}</code></p>
        : <p class="muted workspace-line">Its own git worktree, made on its first session.</p>}
      <Conflicts state={state} conflicts={conflicts} />
      {ws.branch && <button data-action="review" onClick={() => store.set({ dialog: { review: task.id } })}>Review changes</button>}
    </div>
  );
}

export function Conflicts({ state, conflicts }: { state: State; conflicts: TaskConflict[] }) {
  if (!conflicts.length) return null;
  return (
    <ul class="conflicts">
      {conflicts.map((c) => (
        <li class="conflict" title={c.files.join('\n')}>
          ⚠ conflicts with {c.taskId ? (state.tasks[c.taskId]?.title ?? c.taskId) : `base ${c.branch}`}: {c.files.join(', ')}
        </li>
      ))}
    </ul>
  );
}

type Row =
  | { kind: 'hunk'; text: string }
  | { kind: 'line'; mark: string; text: string; old: number | null; new: number | null };

/** A file's hunks as numbered rows. */
function rows(file: DiffFile): Row[] {
  const out: Row[] = [];
  for (const h of file.hunks) {
    out.push({ kind: 'hunk', text: h.header });
    let o = h.oldStart, n = h.newStart;
    for (const line of h.lines) {
      const mark = line[0] ?? ' ';
      const text = line.slice(1);
      if (mark === '+') out.push({ kind: 'line', mark, text, old: null, new: n++ });
      else if (mark === '-') out.push({ kind: 'line', mark, text, old: o++, new: null });
      else if (mark === '\\') out.push({ kind: 'line', mark, text, old: null, new: null });
      else out.push({ kind: 'line', mark: ' ', text, old: o++, new: n++ });
    }
  }
  return out;
}

/** Side by side: removed lines beside the added lines that replace them. */
function pairs(list: Row[]): [Row | null, Row | null][] {
  const out: [Row | null, Row | null][] = [];
  let i = 0;
  while (i < list.length) {
    const r = list[i];
    if (r.kind === 'hunk' || r.mark === ' ' || r.mark === '\\') { out.push([r, r]); i++; continue; }
    const removed: Row[] = [], added: Row[] = [];
    while (i < list.length && list[i].kind === 'line' && (list[i] as any).mark === '-') removed.push(list[i++]);
    while (i < list.length && list[i].kind === 'line' && (list[i] as any).mark === '+') added.push(list[i++]);
    for (let k = 0; k < Math.max(removed.length, added.length); k++) out.push([removed[k] ?? null, added[k] ?? null]);
  }
  return out;
}

const STATUS_MARK: Record<string, string> = { added: 'A', modified: 'M', deleted: 'D', renamed: 'R', copied: 'C' };

export function ReviewDialog({ store, state, taskId }: { store: Store; state: State; taskId: string }) {
  const task = state.tasks[taskId];
  const [diff, setDiff] = useState<TaskDiff | null>(null);
  const [path, setPath] = useState<string | null>(null);
  const [split, setSplit] = useState(false);
  // `old`: on a removed line (numbered in the old file).
  const [comments, setComments] = useState<(ReviewComment & { old: boolean })[]>([]);
  const [draft, setDraft] = useState<{ path: string; line: number; old: boolean; text: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const load = () => store.api.taskDiff(taskId).then((d) => {
    setDiff(d);
    setPath((p) => (p && d.files.some((f) => f.path === p) ? p : d.files[0]?.path ?? null));
  }).catch((e) => store.fail(e));
  // Kept current: on every run start or end, workspace change, and each settle of the task's
  // sessions (their activity changes when output goes quiet); and every few seconds while one runs.
  const sessionsKey = (task?.sessionIds ?? []).map((id) => `${id}:${state.sessions[id]?.updatedAt}`).join(',');
  const running = (task?.sessionIds ?? []).some((id) => ['starting', 'running', 'waiting'].includes(state.sessions[id]?.status ?? ''));
  useEffect(() => { load(); }, [taskId, state.runsSeq, state.workspaceSeq, sessionsKey]);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [taskId, running]);
  const file = diff?.files.find((f) => f.path === path) ?? null;
  const fileRows = useMemo(() => (file ? rows(file) : []), [file]);
  const act = (f: () => Promise<unknown>) => f().catch((e) => store.fail(e));
  const commentsAt = (p: string, line: number | null, old: boolean) => comments.filter((c) => c.path === p && c.line === line && c.old === old);
  const open = (r: Row) => {
    if (r.kind !== 'line' || !file) return;
    const line = r.new ?? r.old;
    if (line !== null) setDraft({ path: file.path, line, old: r.new === null, text: '' });
  };
  const addDraft = () => {
    if (!draft || !draft.text.trim()) { setDraft(null); return; }
    setComments([...comments, { path: draft.path, line: draft.line, old: draft.old, body: draft.text.trim() }]);
    setDraft(null);
  };
  const send = () => act(async () => {
    const sent = await store.api.sendReview(taskId, comments.map(({ path, line, old, body }) => ({ path, line, body: old ? `(removed line) ${body}` : body })));
    setComments([]);
    setNote(sent.typed ? 'Sent: typed into the agent’s terminal and posted as a REVIEW message.' : 'Posted as a REVIEW message (no agent of this task is running).');
  });
  /** A row's number cell (the line on `side`) and its code. */
  const cell = (r: Row | null, side: 'old' | 'new') => {
    if (!r) return <><td class="num" /><td class="code empty" /></>;
    if (r.kind === 'hunk') return <><td class="num" /><td class="code hunk">{r.text}</td></>;
    return <><td class="num" onClick={() => open(r)}>{(side === 'old' ? r.old : r.new) ?? ''}</td>
      <td class={`code ${r.mark === '+' ? 'add' : r.mark === '-' ? 'del' : ''}`} onClick={() => open(r)}
        dangerouslySetInnerHTML={{ __html: highlight(r.text, file!.path) }} /></>;
  };
  const extra = (r: Row | null) => {
    if (!r || r.kind !== 'line' || !file) return null;
    const line = r.new ?? r.old;
    const old = r.new === null;
    const here = commentsAt(file.path, line, old);
    const drafting = draft && draft.path === file.path && draft.line === line && draft.old === old;
    if (!here.length && !drafting) return null;
    return (
      <tr class="comment-row"><td colSpan={split ? 4 : 3}>
        {here.map((c) => <div class="comment">💬 {c.body} <button class="small ghost" onClick={() => setComments(comments.filter((x) => x !== c))}>✕</button></div>)}
        {drafting && (
          <form onSubmit={(e) => { e.preventDefault(); addDraft(); }}>
            <textarea rows={2} autoFocus placeholder={`Comment on ${file.path}:${line}`} value={draft!.text}
              onInput={(e) => setDraft({ ...draft!, text: (e.target as HTMLTextAreaElement).value })}
              onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); addDraft(); } }} />
            <div class="row end"><button type="button" class="ghost" onClick={() => setDraft(null)}>Cancel</button><button class="primary" data-action="add-comment">Add comment</button></div>
          </form>
        )}
      </td></tr>
    );
  };
  return (
    <div class="review">
      <div class="row">
        <h3 class="grow">Review: {task?.title ?? taskId}</h3>
        {diff && <span class="muted">{diff.branch} → {diff.baseBranch} · {diff.files.length} files, <span class="add-count">+{diff.additions}</span> <span class="del-count">−{diff.deletions}</span></span>}
        <button class="ghost" onClick={() => setSplit(!split)}>{split ? 'Unified' : 'Side by side'}</button>
      </div>
      <Conflicts state={state} conflicts={state.conflicts[taskId] ?? []} />
      <div class="review-body">
        <ul class="review-files">
          {diff?.files.map((f) => (
            <li data-file={f.path} class={f.path === path ? 'selected' : ''} onClick={() => setPath(f.path)} title={f.oldPath ? `${f.oldPath} → ${f.path}` : f.path}>
              <span class={`fstatus ${f.status}`}>{STATUS_MARK[f.status]}</span> {f.path}
              <span class="spacer" />{f.binary ? <span class="muted">bin</span> : <span class="muted">+{f.additions} −{f.deletions}</span>}
            </li>
          ))}
          {diff && !diff.files.length && <li class="muted">No changes yet.</li>}
        </ul>
        <div class="review-diff">
          {file && file.binary && <p class="muted">Binary file{file.oldPath ? ` (from ${file.oldPath})` : ''}.</p>}
          {file && !file.binary && !file.hunks.length && <p class="muted">{file.oldPath ? `Renamed from ${file.oldPath}, unchanged.` : 'No textual change.'}</p>}
          {file && file.hunks.length > 0 && (
            <table class={`diff ${split ? 'split' : 'unified'}`} data-diff={file.path}>
              <tbody>
                {split
                  ? pairs(fileRows).map(([l, r]) => <>
                      <tr>{cell(l, 'old')}{cell(r, 'new')}</tr>
                      {extra(r ?? l)}
                    </>)
                  : fileRows.map((r) => <>
                      <tr>
                        {r.kind === 'line' ? <td class="num old">{r.old ?? ''}</td> : <td class="num old" />}
                        {cell(r, 'new')}
                      </tr>
                      {extra(r)}
                    </>)}
              </tbody>
            </table>
          )}
          {file?.truncated && <p class="muted">Part of this diff was left out (over the size cap).</p>}
        </div>
      </div>
      {note && <p class="muted review-note">{note}</p>}
      <div class="row end">
        <button class="ghost" onClick={() => { const m = prompt('Commit message'); if (m) act(async () => { await store.api.commitTask(taskId, m); await load(); }); }}>Commit…</button>
        <button class="ghost" onClick={() => act(async () => { const m = await store.api.mergeTask(taskId); setNote(`Merged into ${m.baseBranch} (${m.fastForward ? 'fast-forward' : 'merge commit'}).`); })}>Merge</button>
        <button class="ghost" onClick={() => { if (confirm('Archive this task’s work and remove its worktree?')) act(async () => { await store.api.archiveTask(taskId); store.set({ dialog: null }); }); }}>Archive</button>
        <button class="primary" data-action="send-review" disabled={!comments.length} onClick={send}>Send to agent{comments.length ? ` (${comments.length})` : ''}</button>
      </div>
    </div>
  );
}
