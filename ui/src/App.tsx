// The window: projects and live sessions on the left, the board or the terminals in the centre,
// the selected task or session on the right. Keyboard first: Ctrl/Cmd+K opens the palette.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Store, State } from './store';
import { Conflicts, ReviewDialog, WorkspaceSection } from './Review';
import { PENDING, useStore } from './store';
import type { TerminalPane as TerminalPaneType } from './Terminal';
import type { BulkRequest, HistoryEntry, ModelPrice, PriceTable, Run, Session, Task, TaskStatus } from './types';
import { isActive } from './types';
import { helpRows, keyLabel, shortcut } from './keys';
import { ago, dotClass, statusLabel } from './labels';
import { Approval, UsageLine } from './Approval';

const COLUMNS: { status: TaskStatus; label: string }[] = [
  { status: 'pending', label: 'Pending' },
  { status: 'queued', label: 'Queued' },
  { status: 'in_progress', label: 'In progress' },
  { status: 'blocked', label: 'Blocked' },
  { status: 'completed', label: 'Completed' },
  { status: 'failed', label: 'Failed' },
  { status: 'cancelled', label: 'Cancelled' },
];
const ALWAYS = new Set<TaskStatus>(['pending', 'in_progress', 'blocked', 'completed']);

/** What the agent last reported, as one line: `40% · reading the grammar`. */
function report(s: Session): string {
  const parts = [s.progress !== null && s.progress !== undefined ? `${s.progress}%` : '', s.statusText ?? ''];
  return parts.filter(Boolean).join(' · ');
}

/** xterm and the terminal pane, loaded when a terminal is first shown. */
const terminalModule = () => import('./Terminal');
let loadedPane: typeof TerminalPaneType | null = null;

function LazyPane(props: Parameters<typeof TerminalPaneType>[0]) {
  const [Pane, setPane] = useState(() => loadedPane);
  useEffect(() => {
    if (!Pane) terminalModule().then((m) => { loadedPane = m.TerminalPane; setPane(() => m.TerminalPane); });
  }, []);
  return Pane ? <Pane {...props} /> : <PendingPane label="loading…" id={props.session.id} />;
}

/** A pane without its terminal yet: drawn before a session starts, so that its size is known. */
function PendingPane({ label = 'starting…', id = PENDING }: { label?: string; id?: string }) {
  return (
    <div class="pane focused" data-session={id}>
      <div class="pane-head"><span class="dot working" /><span class="pane-name">{label}</span></div>
      <div class="xterm-host" />
    </div>
  );
}

/** Puts the keyboard focus into the element once it is shown. */
function useAutoFocus<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useLayoutEffect(() => { ref.current?.focus(); }, []);
  return ref;
}

/** Re-renders every few seconds, for "waiting 12s". */
function useTicker(ms: number) {
  const [, setTick] = useState(0);
  useEffect(() => { const t = setInterval(() => setTick((n) => n + 1), ms); return () => clearInterval(t); }, [ms]);
}

const QUICK_REPLIES: { label: string; text: string; title: string }[] = [
  { label: '⏎', text: '\r', title: 'Enter' },
  { label: 'y', text: 'y', title: 'type y' },
  { label: 'n', text: 'n', title: 'type n' },
  { label: 'Esc', text: '\x1b', title: 'Escape' },
];

/** What a waiting agent asks (its last screen lines) and one-key answers, without its terminal. */
function WaitingQuestion({ store, session }: { store: Store; session: Session }) {
  const [text, setText] = useState('');
  const send = (t: string) => store.api.sendInput(session.id, t).catch((e) => store.fail(e));
  if (session.status !== 'waiting') return null;
  return (
    <div class="question" data-question={session.id}>
      <Approval api={store.api} session={session} onError={(e) => store.fail(e)} />
      {session.question.length > 0 && <pre class="question-lines" title={session.question.join('\n')}>{session.question.slice(-2).join('\n')}</pre>}
      {/* Answering here does not open the terminal. */}
      <div class="quick" onClick={(e) => e.stopPropagation()}>
        {QUICK_REPLIES.map((q) => <button class="small" title={q.title} data-reply={q.title} onClick={() => send(q.text)}>{q.label}</button>)}
        <form class="grow" onSubmit={(e) => { e.preventDefault(); if (text) { send(text + '\r'); setText(''); } }}>
          <input class="reply" placeholder="Reply…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </form>
      </div>
    </div>
  );
}

/**
 * Permission requests as notifications inside the window, with Allow / Deny (a desktop
 * notification cannot carry buttons): one per asking agent the user is not looking at, gone once
 * decided here, in the terminal, or dismissed.
 */
function AskToasts({ store, state }: { store: Store; state: State }) {
  const [dismissed, setDismissed] = useState<string[]>([]);
  const looking = (id: string) => state.view === 'terminals' && state.activeTab === id;
  const asking = Object.values(state.sessions).filter((s) =>
    s.activity === 'waiting_permission' && s.permission?.actionId && !dismissed.includes(s.permission.actionId) && !looking(s.id));
  if (asking.length === 0) return null;
  return (
    <div class="ask-toasts">
      {asking.slice(0, 4).map((s) => (
        <div class="ask-toast" data-session={s.id} role="alert">
          <div class="row">
            <b class="grow linklike" title="Open its terminal" onClick={() => store.openTerminal(s.id)}>{s.name} asks to run {s.permission!.tool}</b>
            <button class="ghost small" title="Dismiss (it still asks in its terminal)" onClick={() => setDismissed([...dismissed, s.permission!.actionId!])}>×</button>
          </div>
          <code class="ask-summary" title={s.permission!.summary}>{s.permission!.summary}</code>
          <Approval api={store.api} session={s} onError={(e) => store.fail(e)} compact />
        </div>
      ))}
      {asking.length > 4 && <div class="ask-toast muted">and {asking.length - 4} more asking</div>}
    </div>
  );
}

export function App({ store }: { store: Store }) {
  const state = useStore(store);
  useKeyboard(store);
  return (
    <div class="app">
      {state.link !== 'connected' && <div class="linkbar">{state.link === 'connecting' ? 'connecting…' : 'reconnecting…'}</div>}
      {state.error && <div class="errorbar" onClick={() => store.set({ error: null })}>{state.error} <span class="muted">(click to dismiss)</span></div>}
      <AskToasts store={store} state={state} />
      <style>{`.app { grid-template-columns: 220px minmax(0, 1fr) ${state.details.open ? `${state.details.width}px` : '28px'}; }`}</style>
      <Sidebar store={store} state={state} />
      <main class="centre">
        <div class="toolbar">
          <div class="tabs-switch">
            <button class={state.view === 'board' ? 'on' : ''} onClick={() => store.set({ view: 'board' })}>Board</button>
            <button class={state.view === 'terminals' ? 'on' : ''} onClick={() => store.set({ view: 'terminals' })}>
              Terminals{state.tabs.length ? ` (${state.tabs.length})` : ''}
            </button>
          </div>
          <span class="spacer" />
          {state.view === 'board' && (
            <input class="filter" placeholder="Filter tasks…" value={state.filter}
              onInput={(e) => store.set({ filter: (e.target as HTMLInputElement).value })} />
          )}
          {state.view === 'terminals' && (
            <div class="tabs-switch">
              {([1, 2, 4] as const).map((n) => (
                // Clicking a layout keeps the keyboard in the terminal.
                <button class={state.layout === n ? 'on' : ''} title={`${n} pane(s)`} data-layout={n}
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => store.set({ layout: n, focusSeq: state.focusSeq + 1 })}>{n}</button>
              ))}
            </div>
          )}
          <button class="ghost" onClick={() => store.set({ dialog: 'palette' })} title="Command palette">{keyLabel('palette')}</button>
          <button class="ghost" onClick={() => store.set({ dialog: 'keys' })} title="Keyboard shortcuts (?)">?</button>
          <button class="ghost" onClick={() => store.set({ dialog: 'settings' })}>Settings</button>
        </div>
        {state.view === 'board' ? <Board store={store} state={state} /> : <Terminals store={store} state={state} />}
      </main>
      <Details store={store} state={state} />
      {state.dialog && <Dialog store={store} state={state} />}
    </div>
  );
}

function Sidebar({ store, state }: { store: Store; state: State }) {
  useTicker(5000);
  const sessions = store.projectSessions();
  return (
    <aside class="sidebar">
      <div class="brand">Baton</div>
      <div class="row">
        <select class="project-select" value={state.projectId ?? ''} aria-label="Project"
          onChange={(e) => store.selectProject((e.target as HTMLSelectElement).value).catch((err) => store.fail(err))}>
          {state.projects.length === 0 && <option value="">No project yet</option>}
          {state.projects.map((p) => <option value={p.id}>{p.name}</option>)}
        </select>
        <button class="small" title="New project" onClick={() => store.set({ dialog: 'new-project' })}>+</button>
      </div>
      {state.projectId && <div class="project-usage"><UsageLine load={() => store.api.projectUsage(state.projectId!)}
        version={`${state.projectId}:${sessions.filter((s) => s.activity === 'idle' || !isActive(s)).map((s) => s.updatedAt).join()}`} /></div>}
      <QueuePanel store={store} state={state} />
      <div class="section-title">Sessions</div>
      <ul class="sessions">
        {sessions.map((s, i) => (
          <li class={`session-item ${s.status}`} data-session={s.id} onClick={() => store.openTerminal(s.id)}
            title={`${s.name}: ${statusLabel(s)}${i < 9 ? ` — ${keyLabel(`session-${i + 1}`)}` : ''}`}>
            <div class="session-line">
              <span class={`dot ${dotClass(s)}`} />
              <span class="grow session-name">{s.name}</span>
              <span class="muted">{s.status === 'waiting' ? `waiting ${ago(s.waitingSince)}` : isActive(s) ? ago(s.startedAt) : statusLabel(s)}</span>
            </div>
            {report(s) && <small class="report" title={report(s)}>{report(s)}</small>}
            <WaitingQuestion store={store} session={s} />
          </li>
        ))}
        {sessions.length === 0 && <li class="muted empty">No sessions. Run a task with an agent.</li>}
      </ul>
      <button class="wide" disabled={!state.projectId} onClick={() => store.set({ dialog: 'new-task' })}>+ New task <span class="kbd">N</span></button>
      <div class="section-title">Messages</div>
      <Feed store={store} state={state} />
    </aside>
  );
}

/** The queue over every project: what runs of how many, what waits, pause and the limit. */
function QueuePanel({ store, state }: { store: Store; state: State }) {
  const q = state.queue;
  if (!q) return null;
  const act = (f: () => Promise<unknown>) => f().then((r) => { if (r && typeof r === 'object' && 'maxConcurrent' in r) store.set({ queue: r as State['queue'] }); }).catch((e) => store.fail(e));
  return (
    <div class="queue-panel" data-queue={q.paused ? 'paused' : 'running'}>
      <div class="section-title">Queue</div>
      <div class="row queue-line">
        <span class="grow"><b class="queue-running">{q.running}/{q.maxConcurrent}</b> running · <b class="queue-queued">{q.queued.total}</b> queued{q.blocked ? ` · ${q.blocked} blocked` : ''}</span>
        <button class="small" data-action={q.paused ? 'resume-queue' : 'pause-queue'} title={q.paused ? 'Resume the queue' : 'Pause: nothing new starts'}
          onClick={() => act(() => store.api.pauseQueue(!q.paused))}>{q.paused ? 'Resume' : 'Pause'}</button>
      </div>
      <label class="row muted">at most
        <input class="queue-limit" type="number" min={1} max={64} value={q.maxConcurrent} aria-label="Concurrent runs"
          onChange={(e) => { const n = Number((e.target as HTMLInputElement).value); if (n >= 1 && n <= 64) act(() => store.api.setQueueLimit(n)); }} />
        at once{q.paused ? <b class="paused-flag"> · paused</b> : null}</label>
      {q.successRate !== null && q.successRate !== undefined && <small class="muted">last hour: {q.completedLastHour} done, {q.failedLastHour} failed</small>}
    </div>
  );
}

/** Where an executed task stands, in a few words: `#2 in queue`, `attempt 2/3`, the reason. */
function executionLine(task: Task): string | null {
  const e = task.execution;
  if (!e) return null;
  const parts: string[] = [];
  if (e.state === 'queued') parts.push(e.queuePosition ? `#${e.queuePosition} in queue` : 'queued');
  if (e.maxAttempts > 1 || e.attempt > 1) parts.push(`attempt ${e.attempt}/${Math.max(e.attempt, e.maxAttempts)}`);
  if (e.loop) parts.push(`run ${e.runs}/${e.loop.maxRuns}`);
  if (e.costLimitUsd != null) parts.push(`limit $${e.costLimitUsd}`);
  return parts.join(' · ') || null;
}

/** The queue actions a task has now: queue it, cancel it, retry it, reopen it. */
function TaskActions({ store, task }: { store: Store; task: Task }) {
  const act = (f: () => Promise<unknown>) => f().catch((e) => store.fail(e));
  const state = task.execution?.state;
  const open = state === 'queued' || state === 'blocked' || state === 'running';
  return (
    <span class="task-actions" onClick={(e) => e.stopPropagation()}>
      {!open && task.status !== 'completed' && !(state === 'failed' || state === 'cancelled') &&
        <button class="small" data-action="execute" title="Queue it for an agent" onClick={() => store.set({ dialog: { run: task.id } })}>▶</button>}
      {open && <button class="small" data-action="cancel" title="Cancel" onClick={() => act(() => store.api.cancelTask(task.id))}>✕</button>}
      {(state === 'failed' || state === 'cancelled') && <button class="small" data-action="retry" title="Retry (next attempt)" onClick={() => act(() => store.api.retryTask(task.id))}>↻</button>}
      {state === 'completed' && task.execution?.loop && <button class="small" data-action="resume" title="Reopen: run its loop again" onClick={() => act(() => store.api.resumeTask(task.id))}>⟳</button>}
    </span>
  );
}

/** Shown while tasks are ticked: one action for all of them. */
function BulkBar({ store, state }: { store: Store; state: State }) {
  const [note, setNote] = useState('');
  const ids = state.picked.filter((id) => state.tasks[id]);
  if (!ids.length) return null;
  const run = async (body: Omit<BulkRequest, 'taskIds'>) => {
    try {
      const r = await store.api.bulkTasks({ ...body, taskIds: ids });
      setNote(r.failed.length ? `${r.affectedCount} done, ${r.failed.length} failed: ${r.failed.map((f) => f.error).join('; ')}` : `${r.affectedCount} done`);
    } catch (e) { store.fail(e); }
  };
  const agent = state.agents.find((a) => a.available)?.id;
  return (
    <div class="bulk-bar" data-picked={ids.length}>
      <b>{ids.length} selected</b>
      <button data-bulk="execute" disabled={!agent} title={agent ? `Queue with ${agent}` : 'No agent available'} onClick={() => run({ operation: 'execute', data: { agentId: agent } })}>Queue</button>
      <button data-bulk="cancel" onClick={() => run({ operation: 'cancel' })}>Cancel</button>
      <select aria-label="Set priority" value="" onChange={(e) => { const p = (e.target as HTMLSelectElement).value; if (p) run({ operation: 'set_priority', data: { priority: p } }); }}>
        <option value="">Priority…</option>{['high', 'medium', 'low'].map((p) => <option value={p}>{p}</option>)}
      </select>
      <button data-bulk="delete" class="danger" onClick={() => { if (confirm(`Delete ${ids.length} task(s)?`)) run({ operation: 'delete' }); }}>Delete</button>
      <button class="ghost" onClick={() => { store.set({ picked: [] }); setNote(''); }}>Clear</button>
      {note && <span class="muted bulk-note">{note}</span>}
    </div>
  );
}

function Feed({ store, state, taskId }: { store: Store; state: State; taskId?: string }) {
  const [text, setText] = useState('');
  const messages = state.messages.filter((m) => !taskId || m.taskId === taskId).slice(-50);
  const post = async (e: Event) => {
    e.preventDefault();
    if (!text.trim() || !state.projectId) return;
    try {
      await store.api.postMessage({ projectId: state.projectId, taskId, body: text });
      setText('');
    } catch (err) { store.fail(err); }
  };
  return (
    <div class="feed">
      <ul>
        {messages.map((m) => (
          <li class="message"><span class={`mtype ${m.type}`}>{m.type}</span> <span class="muted">{actorName(state, m.author)}</span><div>{m.body}</div></li>
        ))}
        {messages.length === 0 && <li class="muted empty">No messages.</li>}
      </ul>
      <form onSubmit={post}><input placeholder="Post a message…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} /></form>
    </div>
  );
}

function Board({ store, state }: { store: Store; state: State }) {
  const [dragging, setDragging] = useState<string | null>(null);
  const tasks = Object.values(state.tasks).filter((t) => t.projectId === state.projectId);
  const needle = state.filter.trim().toLowerCase();
  const shown = tasks.filter((t) => !needle || [t.title, t.description, t.prompt, ...t.tags].some((f) => f.toLowerCase().includes(needle)));
  const columns = COLUMNS.filter((c) => ALWAYS.has(c.status) || tasks.some((t) => t.status === c.status));
  const move = async (id: string, status: TaskStatus) => {
    const task = state.tasks[id];
    if (!task || task.status === status) return;
    store.set({ tasks: { ...state.tasks, [id]: { ...task, status } } }); // optimistic; the event confirms
    try { await store.api.updateTask(id, { status }); } catch (err) { store.fail(err); await store.loadProject(); }
  };
  if (!state.projectId) {
    const agents = [...state.agents].sort((a, b) => Number(b.available) - Number(a.available));
    return <div class="empty-state"><h2>Welcome to Baton</h2><p>Create a project (a working folder) to start.</p>
      <button onClick={() => store.set({ dialog: 'new-project' })}>Create a project</button>
      <div class="section-title">Agents found on this machine</div>
      <ul class="first-run-agents">
        {agents.map((a) => <li data-agent={a.id} class={a.available ? 'found' : 'missing'}>
          {a.available ? '✔' : '✘'} <b>{a.name}</b> <span class="muted">{a.available ? a.version ?? a.path : installHint(a.program)}</span></li>)}
      </ul></div>;
  }
  return (
    <div class="board-wrap">
    <BulkBar store={store} state={state} />
    <div class="board">
      {columns.map((col) => {
        const cards = shown.filter((t) => t.status === col.status).sort((a, b) => a.createdAt - b.createdAt);
        return (
        <section class={`column ${dragging ? 'droppable' : ''} ${cards.length ? '' : 'empty'}`} data-status={col.status}
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => { e.preventDefault(); const id = e.dataTransfer?.getData('text/plain'); if (id) move(id, col.status); setDragging(null); }}>
          <header>{col.label} <span class="count">{cards.length}</span></header>
          {cards.map((t) => (
            <Card key={t.id} task={t} store={store} state={state} onDrag={setDragging} />
          ))}
        </section>
        );
      })}
    </div>
    </div>
  );
}

function Card({ task, store, state, onDrag }: { task: Task; store: Store; state: State; onDrag(id: string | null): void }) {
  const done = task.subtasks.filter((s) => s.status === 'completed').length;
  const sessions = task.sessionIds.map((id) => state.sessions[id]).filter(Boolean) as Session[];
  const selected = state.selected?.kind === 'task' && state.selected.id === task.id;
  return (
    <article class={`card ${selected ? 'selected' : ''}`} draggable data-task={task.id}
      onDragStart={(e) => {
        e.dataTransfer?.setData('text/plain', task.id);
        // Re-rendering inside dragstart makes Chromium cancel the drag: mark it a frame later.
        requestAnimationFrame(() => onDrag(task.id));
      }}
      onDragEnd={() => onDrag(null)}
      onClick={() => store.set({ selected: { kind: 'task', id: task.id } })}>
      <div class="card-title">
        <input type="checkbox" class="pick" aria-label="Select" checked={state.picked.includes(task.id)}
          onClick={(e) => { e.stopPropagation(); store.pick(task.id); }} />
        <span class="grow">{task.title}</span>
        <TaskActions store={store} task={task} />
      </div>
      {(executionLine(task) || (task.execution?.reason && task.status !== 'completed')) && (
        <div class="card-exec" data-exec={task.execution?.state}>
          {executionLine(task) && <span class="exec-line">{executionLine(task)}</span>}
          {task.execution?.reason && task.status !== 'completed' && <span class="exec-reason muted" title={task.execution.reason}>{task.execution.reason}</span>}
        </div>
      )}
      <div class="card-meta">
        <span class={`prio ${task.priority}`}>{task.priority}</span>
        {task.tags.map((t) => <span class="tag">{t}</span>)}
        {task.subtasks.length > 0 && <span class="muted">☑ {done}/{task.subtasks.length}</span>}
        <span class="spacer" />
        {sessions.map((s) => <span class={`badge ${dotClass(s)}`} title={`${s.name}: ${statusLabel(s)}`}
          onClick={(e) => { e.stopPropagation(); store.openTerminal(s.id); }}>{s.status === 'waiting' ? 'waiting for you' : s.agentId ?? 'agent'}</span>)}
      </div>
      {task.dependsOn.length > 0 && (
        <div class="card-deps" title="Depends on">
          ⛓ {task.dependsOn.map((d) => {
            const dep = state.tasks[d];
            return <span class={`dep ${dep?.status === 'completed' ? 'done' : ''}`}>{dep?.title ?? d}</span>;
          })}
        </div>
      )}
      <Conflicts state={state} conflicts={state.conflicts[task.id] ?? []} />
      {sessions.filter((s) => s.status === 'waiting').map((s) => <WaitingQuestion store={store} session={s} />)}
    </article>
  );
}

function Terminals({ store, state }: { store: Store; state: State }) {
  const ids = state.tabs.filter((id) => id === PENDING || state.sessions[id]);
  if (!ids.length) return <div class="empty-state"><p>No terminal open. Pick a session on the left, or run a task.</p></div>;
  const active = state.activeTab && ids.includes(state.activeTab) ? state.activeTab : ids[0];
  const start = Math.max(0, ids.indexOf(active) - (state.layout - 1));
  const visible = state.layout === 1 ? [active] : ids.slice(start, start + state.layout);
  const act = (f: () => Promise<unknown>) => f().catch((e) => store.fail(e));
  return (
    <div class="terminals">
      <div class="tabbar">
        {ids.map((id) => {
          const s = state.sessions[id];
          return (
            <button class={`tab ${id === active ? 'on' : ''}`} data-tab={id}
              onClick={() => s && store.openTerminal(id)}>
              {s ? <><span class={`dot ${dotClass(s)}`} /> {s.name}</> : 'starting…'}
            </button>
          );
        })}
      </div>
      <div class={`grid grid-${Math.min(state.layout, visible.length)}`}>
        {visible.map((id) => state.sessions[id]).map((s, i) => !s ? <PendingPane key={visible[i]} /> : (
          <LazyPane key={s.id} api={store.api} session={s} focused={s.id === active} focusSeq={state.focusSeq}
            onFocus={() => store.set({ activeTab: s.id, selected: { kind: 'session', id: s.id } })}
            onStop={() => act(() => store.api.stopSession(s.id))}
            onRestart={() => act(() => store.api.restartSession(s.id))}
            onClose={() => store.closeTab(s.id)} />
        ))}
      </div>
    </div>
  );
}

/** The right panel: collapsible (its button) and resizable (its left edge), both remembered. */
function Details({ store, state }: { store: Store; state: State }) {
  const { open, width } = state.details;
  const drag = (e: MouseEvent) => {
    e.preventDefault();
    const x0 = e.clientX;
    const move = (m: MouseEvent) => store.set({ details: { open: true, width: Math.min(640, Math.max(240, width + x0 - m.clientX)) } });
    const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  const toggle = <button class="small ghost details-toggle" title={open ? 'Hide the details' : 'Show the details'}
    onClick={() => store.set({ details: { open: !open, width } })}>{open ? '»' : '«'}</button>;
  if (!open) return <aside class="details collapsed">{toggle}</aside>;
  return (
    <aside class="details">
      <div class="details-edge" onMouseDown={drag} title="Drag to resize" />
      {toggle}
      <DetailsBody store={store} state={state} />
    </aside>
  );
}

function DetailsBody({ store, state }: { store: Store; state: State }) {
  const sel = state.selected;
  if (!sel) return <p class="empty muted">Select a task or a session.</p>;
  if (sel.kind === 'session') {
    const s = state.sessions[sel.id];
    if (!s) return null;
    return (
      <div>
        <h3><span class={`dot ${dotClass(s)}`} /> {s.name}</h3>
        <UsageLine load={() => store.api.sessionUsage(s.id)} version={`${s.id}:${s.activity}:${s.status}`} />
        <WaitingQuestion store={store} session={s} />
        <dl>
          <dt>Status</dt><dd>{statusLabel(s)}</dd>
          {report(s) && <><dt>Report</dt><dd class="report-detail">
            {s.progress !== null && <progress max={100} value={s.progress} />} {report(s)}
          </dd></>}
          <dt>Agent</dt><dd>{s.agentId ?? '—'}</dd>
          {s.conversationId && <><dt>Conversation</dt><dd><code>{s.conversationId}</code>
            {!isActive(s) && <button class="small" onClick={() => store.api.resumeSession(s.id).catch((e) => store.fail(e))}>Resume</button>}</dd></>}
          <dt>Command</dt><dd><code>{s.command.join(' ') || '(record only)'}</code></dd>
          {s.exitCode !== null && <><dt>Exit</dt><dd>{s.signal ?? `code ${s.exitCode}`}</dd></>}
          <dt>Tasks</dt><dd>{s.taskIds.map((t) => <a onClick={() => store.set({ selected: { kind: 'task', id: t } })}>{state.tasks[t]?.title ?? t}</a>)}</dd>
        </dl>
      </div>
    );
  }
  const task = state.tasks[sel.id];
  return task ? <TaskDetails key={task.id} store={store} state={state} task={task} /> : null;
}

function TaskDetails({ store, state, task }: { store: Store; state: State; task: Task }) {
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [newSub, setNewSub] = useState('');
  useEffect(() => { store.api.taskHistory(task.id).then(setHistory).catch(() => setHistory([])); }, [task.id, task.updatedAt]);
  const act = (f: () => Promise<unknown>) => f().catch((e) => store.fail(e));
  const edit = (field: 'title' | 'description' | 'prompt') => (e: Event) => {
    const value = (e.target as HTMLInputElement).value;
    if (value !== task[field]) act(() => store.api.updateTask(task.id, { [field]: value }));
  };
  const others = Object.values(state.tasks).filter((t) => t.id !== task.id && t.projectId === task.projectId);
  return (
    <div class="task-details">
      <input class="title-edit" value={task.title} onChange={edit('title')} aria-label="Title" />
      <div class="row">
        <select value={task.status} aria-label="Status" onChange={(e) => act(() => store.api.updateTask(task.id, { status: (e.target as HTMLSelectElement).value as TaskStatus }))}>
          {COLUMNS.map((c) => <option value={c.status}>{c.label}</option>)}
        </select>
        <select value={task.priority} aria-label="Priority" onChange={(e) => act(() => store.api.updateTask(task.id, { priority: (e.target as HTMLSelectElement).value as Task['priority'] }))}>
          {['low', 'medium', 'high'].map((p) => <option value={p}>{p}</option>)}
        </select>
        <button class="primary" onClick={() => store.set({ dialog: { run: task.id } })}>Run with… <span class="kbd">R</span></button>
        <TaskActions store={store} task={task} />
      </div>
      <UsageLine load={() => store.api.taskUsage(task.id)} version={task.updatedAt} />
      {task.execution && <p class="muted exec-detail">{task.execution.state}{executionLine(task) ? ` · ${executionLine(task)}` : ''}{task.execution.reason ? ` — ${task.execution.reason}` : ''}</p>}
      <label>Description<textarea rows={3} value={task.description} onChange={edit('description')} /></label>
      <label>Prompt<textarea rows={4} value={task.prompt} onChange={edit('prompt')} /></label>
      <div class="section-title">Subtasks</div>
      <ul class="subtasks">
        {task.subtasks.map((s) => (
          <li><label><input type="checkbox" checked={s.status === 'completed'}
            onChange={(e) => act(() => store.api.updateSubtask(task.id, s.id, { status: (e.target as HTMLInputElement).checked ? 'completed' : 'pending' }))} /> {s.title}</label></li>
        ))}
      </ul>
      <form onSubmit={(e) => { e.preventDefault(); if (newSub.trim()) act(async () => { await store.api.addSubtask(task.id, newSub); setNewSub(''); }); }}>
        <input placeholder="Add a subtask…" value={newSub} onInput={(e) => setNewSub((e.target as HTMLInputElement).value)} />
      </form>
      <div class="section-title">Depends on</div>
      <DependencyPicker task={task} others={others} onChange={(ids) => act(() => store.api.setDependencies(task.id, ids))} />
      <div class="section-title">Workspace</div>
      <WorkspaceSection store={store} state={state} task={task} />
      <div class="section-title">Sessions</div>
      <ul>
        {task.sessionIds.map((id) => state.sessions[id]).filter(Boolean).map((s) => (
          <li class="linklike" onClick={() => store.openTerminal(s!.id)}><span class={`dot ${dotClass(s!)}`} /> {s!.name} <span class="muted">{statusLabel(s!)}</span></li>
        ))}
        {task.sessionIds.length === 0 && <li class="muted">None yet.</li>}
      </ul>
      <div class="section-title">Runs</div>
      <Runs store={store} task={task} seq={state.runsSeq} />
      <div class="section-title">Messages</div>
      <Feed store={store} state={state} taskId={task.id} />
      <div class="section-title">History</div>
      <ul class="history">
        {history.slice().reverse().map((h) => (
          <li><span class="muted">{new Date(h.createdAt).toLocaleTimeString()}</span> {actorName(state, h.actor)} {h.action.replace('_', ' ')}{h.field ? ` ${h.field}` : ''}
            {h.newValue !== null && h.newValue !== undefined && typeof h.newValue !== 'object' ? <> → <b>{h.field?.endsWith('At') && typeof h.newValue === 'number' ? new Date(h.newValue).toLocaleString() : nameOf(state, String(h.newValue))}</b></> : null}</li>
        ))}
      </ul>
      <button class="danger" onClick={() => { if (confirm(`Delete “${task.title}”?`)) act(() => store.api.deleteTask(task.id)); }}>Delete task</button>
    </div>
  );
}

/** The task's runs, each one's output readable on its own. */
function Runs({ store, task, seq }: { store: Store; task: Task; seq: number }) {
  const [runs, setRuns] = useState<Run[]>([]);
  const [shown, setShown] = useState<{ id: string; text: string } | null>(null);
  useEffect(() => { store.api.taskRuns(task.id).then(setRuns).catch(() => setRuns([])); }, [task.id, task.updatedAt, seq]);
  const open = async (id: string) => {
    if (shown?.id === id) { setShown(null); return; }
    try { setShown({ id, text: plain(await store.api.runOutput(id)) }); } catch (e) { store.fail(e); }
  };
  if (!runs.length) return <p class="muted">None yet.</p>;
  return (
    <ul class="runs">
      {runs.map((r) => (
        <li data-run={r.id}>
          <span class="linklike" onClick={() => open(r.id)}>Run {r.number}{r.attempt ? ` (attempt ${r.attempt})` : ''}</span>{' '}
          <span class="muted">{new Date(r.startedAt).toLocaleTimeString()} · {r.endReason ? `${r.endReason.replace('_', ' ')}${r.exitCode !== null && r.exitCode !== undefined ? ` (${r.exitCode})` : ''}` : 'running'}</span>
          {shown?.id === r.id && <pre class="run-output">{shown.text || '(no output)'}</pre>}
        </li>
      ))}
    </ul>
  );
}

/** Terminal output as plain text: escape sequences and carriage returns dropped. */
function plain(text: string): string {
  return text
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[@-_]/g, '')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '');
}

function Dialog({ store, state }: { store: Store; state: State }) {
  const close = () => store.set({ dialog: null });
  const d = state.dialog;
  return (
    <div class="overlay" onMouseDown={(e) => { if (e.target === e.currentTarget) close(); }}>
      <div class={`dialog ${d && typeof d === 'object' && 'review' in d ? 'wide' : ''}`} onKeyDown={(e) => { if (e.key === 'Escape') close(); }}>
        {d === 'palette' && <Palette store={store} state={state} />}
        {d === 'settings' && <Settings store={store} state={state} />}
        {d === 'new-task' && <NewTask store={store} state={state} />}
        {d === 'new-project' && <NewProject store={store} />}
        {d === 'keys' && <KeyboardHelp />}
        {d && typeof d === 'object' && 'run' in d && <RunWith store={store} state={state} taskId={d.run} />}
        {d && typeof d === 'object' && 'review' in d && <ReviewDialog store={store} state={state} taskId={d.review} />}
      </div>
    </div>
  );
}

function NewProject({ store }: { store: Store }) {
  const focus = useAutoFocus<HTMLInputElement>();
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const p = await store.api.createProject({ name, basePath: path.trim() || undefined });
      try {
        await store.reload();
        await store.selectProject(p.id);
      } finally {
        // Closed once the new project is the one shown: its keys (N for a task) work at once.
        store.set({ dialog: null });
      }
    } catch (err: any) { setError(err.message); }
  };
  return (
    <form onSubmit={submit}>
      <h3>New project</h3>
      <label>Name<input ref={focus} name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
      <label>Folder (absolute path)<input name="basePath" placeholder="/home/me/src/app" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} /></label>
      {error && <p class="error">{error}</p>}
      <div class="row end"><button type="button" class="ghost" onClick={() => store.set({ dialog: null })}>Cancel</button><button class="primary">Create</button></div>
    </form>
  );
}

function NewTask({ store, state }: { store: Store; state: State }) {
  const focus = useAutoFocus<HTMLInputElement>();
  const [title, setTitle] = useState('');
  const [prompt, setPrompt] = useState('');
  const [priority, setPriority] = useState('medium');
  const [tags, setTags] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const t = await store.api.createTask({
        projectId: state.projectId!, title, prompt, priority: priority as Task['priority'],
        tags: tags.split(',').map((s) => s.trim()).filter(Boolean),
      });
      store.set({ dialog: null, selected: { kind: 'task', id: t.id }, view: 'board' });
    } catch (err: any) { setError(err.message); }
  };
  return (
    <form onSubmit={submit}>
      <h3>New task</h3>
      <label>Title<input ref={focus} name="title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} /></label>
      <label>Prompt for the agent<textarea name="prompt" rows={4} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} /></label>
      <div class="row">
        <label>Priority<select name="priority" value={priority} onChange={(e) => setPriority((e.target as HTMLSelectElement).value)}>
          <option>low</option><option>medium</option><option>high</option></select></label>
        <label class="grow">Tags<input name="tags" placeholder="ui, auth" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} /></label>
      </div>
      {error && <p class="error">{error}</p>}
      <div class="row end"><button type="button" class="ghost" onClick={() => store.set({ dialog: null })}>Cancel</button><button class="primary">Create task</button></div>
    </form>
  );
}

function RunWith({ store, state, taskId }: { store: Store; state: State; taskId: string }) {
  const [error, setError] = useState('');
  const task = state.tasks[taskId];
  const run = async (agentId: string) => {
    try {
      await startInPane(store, { projectId: task.projectId, taskIds: [taskId], agentId, name: `${agentId}: ${task.title}`.slice(0, 200) });
    } catch (err: any) { setError(err.message); }
  };
  const [attempts, setAttempts] = useState(1);
  const [costLimit, setCostLimit] = useState('');
  // Profiles may have been added elsewhere (the CLI, a script): the list is read again.
  useEffect(() => { store.api.listAgents().then((agents) => store.set({ agents })).catch(() => {}); }, []);
  const queue = async (agentId: string) => {
    try {
      const limit = Number(costLimit);
      await store.api.executeTask(taskId, { agentId, maxAttempts: attempts, ...(costLimit.trim() && { costLimitUsd: limit }) });
      store.set({ dialog: null });
    } catch (err: any) { setError(err.message); }
  };
  // Profiles whose program is missing come last, saying how to get it.
  const agents = [...state.agents].sort((a, b) => Number(b.available) - Number(a.available));
  return (
    <div>
      <h3>Run “{task?.title}” with…</h3>
      <ul class="agents">
        {agents.map((a) => (
          <li class="row"><button class="agent grow" data-agent={a.id} disabled={!a.available} onClick={() => run(a.id)}>
            <b>{a.available ? '✔' : '✘'} {a.name}</b> <span class="muted">{a.available ? a.version ?? a.path : installHint(a.program)}</span>
          </button>
          <button class="small" data-queue-agent={a.id} disabled={!a.available} title="Queue it: it starts when a slot is free and its dependencies are done" onClick={() => queue(a.id)}>Queue</button></li>
        ))}
      </ul>
      <label class="row muted">attempts before it fails
        <input type="number" min={1} max={100} value={attempts} aria-label="Attempts" onChange={(e) => setAttempts(Math.max(1, Math.min(100, Number((e.target as HTMLInputElement).value) || 1)))} /></label>
      <label class="row muted">cost limit (US$, optional)
        <input type="number" min={0} step="any" placeholder="none" value={costLimit} aria-label="Cost limit" onInput={(e) => setCostLimit((e.target as HTMLInputElement).value)} /></label>
      {error && <p class="error">{error}</p>}
    </div>
  );
}

function Settings({ store, state }: { store: Store; state: State }) {
  const [info, setInfo] = useState(store.api.describe());
  const [show, setShow] = useState(false);
  const [name, setName] = useState('');
  const [program, setProgram] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState({ name: '', command: '' });
  const [port, setPort] = useState(String(info.savedPort ?? ''));
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const attempt = async (f: () => Promise<unknown>) => {
    setError('');
    try { await f(); } catch (err: any) { setError(err.message); }
  };
  const refresh = async () => store.set({ agents: await store.api.listAgents() });
  const split = (command: string) => { const [prog, ...args] = command.trim().split(/\s+/); return { program: prog, args }; };
  return (
    <div class="settings">
      <h3>Settings</h3>
      <div class="section-title">Agent profiles <button class="small" title="Look for the programs again" onClick={() => attempt(refresh)}>Test all</button></div>
      <table>
        <tbody>{state.agents.map((a) => editing === a.id ? (
          <tr><td colSpan={4}><form class="row" onSubmit={(e) => { e.preventDefault(); attempt(async () => {
            await store.api.updateAgent(a.id, { name: draft.name, ...split(draft.command) }); setEditing(null); await refresh(); }); }}>
            <input value={draft.name} onInput={(e) => setDraft({ ...draft, name: (e.target as HTMLInputElement).value })} />
            <input class="grow" value={draft.command} onInput={(e) => setDraft({ ...draft, command: (e.target as HTMLInputElement).value })} />
            <button class="primary">Save</button><button type="button" class="ghost" onClick={() => setEditing(null)}>Cancel</button>
          </form></td></tr>
        ) : (
          <tr data-agent={a.id}><td>{a.available ? '✔' : '✘'}</td><td><b>{a.name}</b></td><td><code>{[a.program, ...a.args].join(' ')}</code></td>
            <td class="muted">{a.available ? a.version ?? 'found' : 'not found on PATH'}</td>
            <td><button class="small" onClick={() => { setEditing(a.id); setDraft({ name: a.name, command: [a.program, ...a.args].join(' ') }); }}>Edit</button></td></tr>
        ))}</tbody>
      </table>
      <form class="row" onSubmit={(e) => { e.preventDefault(); attempt(async () => {
        await store.api.createAgent({ name, ...split(program) }); setName(''); setProgram(''); await refresh(); }); }}>
        <input placeholder="Name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <input class="grow" placeholder="program and arguments" value={program} onInput={(e) => setProgram((e.target as HTMLInputElement).value)} />
        <button>Add profile</button>
      </form>
      <PriceSettings store={store} />
      <div class="section-title">API</div>
      <p><code>{info.url}</code> — OpenAPI at <code>/api/openapi.json</code></p>
      {store.api.setApiPort ? (
        <form class="row" onSubmit={(e) => { e.preventDefault(); attempt(async () => {
          const n = port.trim() ? Number(port) : null;
          if (n !== null && !(Number.isInteger(n) && n > 0 && n < 65536)) throw new Error('a port is a number from 1 to 65535');
          await store.api.setApiPort!(n); setNote('Saved: used from the next start.'); }); }}>
          <label class="grow">Port at the next start (empty: a free one)<input value={port} placeholder="free" onInput={(e) => setPort((e.target as HTMLInputElement).value)} /></label>
          <button>Save</button>
        </form>
      ) : <p class="muted">The port is the server's (<code>baton serve --port</code>).</p>}
      <p>Token: <code class="token">{show ? info.token : '•'.repeat(16)}</code> <button class="small" onClick={() => setShow(!show)}>{show ? 'Hide' : 'Show'}</button>
        <button class="small" onClick={() => navigator.clipboard?.writeText(info.token)}>Copy</button>
        <button class="small danger-text" onClick={() => {
          if (confirm('Make a new token? Scripts using the old one will be refused.')) attempt(async () => {
            await store.api.regenerateToken(); setInfo({ ...store.api.describe() }); setNote('A new token is in force.');
          });
        }}>Regenerate</button></p>
      {note && <p class="muted">{note}</p>}
      {error && <p class="error">{error}</p>}
    </div>
  );
}

const PRICE_KINDS = [['input', 'input'], ['output', 'output'], ['cacheRead', 'cache read'], ['cacheWrite', 'cache write']] as const;

/** The price table usage is priced by: one row per model-name prefix, dollars per million tokens. */
function PriceSettings({ store }: { store: Store }) {
  const [rows, setRows] = useState<{ model: string; price: ModelPrice }[]>([]);
  const [source, setSource] = useState('');
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const show = (t: PriceTable) => {
    setRows(Object.entries(t.prices).map(([model, price]) => ({ model, price })));
    setSource(t.source);
  };
  useEffect(() => { store.api.priceTable().then(show).catch((e) => setError(String(e.message ?? e))); }, []);
  const attempt = (f: () => Promise<PriceTable>, done: string) => {
    setError(''); setNote('');
    f().then((t) => { show(t); setNote(done); }).catch((e) => setError(e.message ?? String(e)));
  };
  const edit = (i: number, change: Partial<{ model: string; price: ModelPrice }>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <div class="prices" data-prices>
      <div class="section-title">Prices <span class="muted">US$ per million tokens, by model-name prefix · {source === 'data_dir' ? 'set here' : "Baton's own"}</span></div>
      <table>
        <thead><tr><th>model prefix</th>{PRICE_KINDS.map(([, label]) => <th>{label}</th>)}<th /></tr></thead>
        <tbody>{rows.map((r, i) => (
          <tr data-price-row={r.model}>
            <td><input aria-label="Model prefix" value={r.model} onInput={(e) => edit(i, { model: (e.target as HTMLInputElement).value })} /></td>
            {PRICE_KINDS.map(([kind, label]) => (
              <td><input class="price" type="number" min={0} step="any" aria-label={`${label} price`} value={r.price[kind]}
                onInput={(e) => edit(i, { price: { ...r.price, [kind]: Number((e.target as HTMLInputElement).value) } })} /></td>
            ))}
            <td><button class="small ghost" title="Remove this model" onClick={() => setRows(rows.filter((_, j) => j !== i))}>×</button></td>
          </tr>
        ))}</tbody>
      </table>
      <div class="row">
        <button class="small" onClick={() => setRows([...rows, { model: '', price: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 } }])}>Add model</button>
        <button class="small primary" data-action="save-prices" onClick={() => attempt(
          () => store.api.setPrices(Object.fromEntries(rows.map((r) => [r.model, r.price]))), 'Saved: usage is priced by it now.')}>Save prices</button>
        <button class="small" onClick={() => attempt(() => store.api.resetPrices(), "Baton's own prices again.")}>Use Baton's prices</button>
      </div>
      {note && <p class="muted">{note}</p>}
      {error && <p class="error">{error}</p>}
    </div>
  );
}

interface Command { label: string; hint?: string; run(): void }

function Palette({ store, state }: { store: Store; state: State }) {
  const focus = useAutoFocus<HTMLInputElement>();
  const [q, setQ] = useState('');
  const [index, setIndex] = useState(0);
  const commands = useMemo<Command[]>(() => {
    const list: Command[] = [
      { label: 'New task', hint: 'N', run: () => store.set({ dialog: 'new-task' }) },
      { label: 'New project', run: () => store.set({ dialog: 'new-project' }) },
      { label: 'Show board', run: () => store.set({ view: 'board', dialog: null }) },
      { label: 'Show terminals', run: () => store.set({ view: 'terminals', dialog: null }) },
      { label: 'Split terminals: 1 pane', run: () => store.set({ layout: 1, view: 'terminals', dialog: null }) },
      { label: 'Split terminals: 2 panes', hint: keyLabel('split-2'), run: () => store.set({ layout: 2, view: 'terminals', dialog: null }) },
      { label: 'Split terminals: 4 panes', hint: keyLabel('split-4'), run: () => store.set({ layout: 4, view: 'terminals', dialog: null }) },
      { label: 'Next waiting session', hint: keyLabel('next-waiting'), run: () => { store.set({ dialog: null }); jumpToWaiting(store); } },
      { label: 'Keyboard shortcuts', hint: '?', run: () => store.set({ dialog: 'keys' }) },
      { label: 'Settings', run: () => store.set({ dialog: 'settings' }) },
    ];
    for (const p of state.projects) list.push({ label: `Project: ${p.name}`, run: () => { store.set({ dialog: null }); store.selectProject(p.id); } });
    for (const s of store.projectSessions()) list.push({ label: `Session: ${s.name} (${s.status})`, run: () => { store.set({ dialog: null }); store.openTerminal(s.id); } });
    for (const t of Object.values(state.tasks)) list.push({ label: `Task: ${t.title}`, run: () => store.set({ dialog: null, view: 'board', selected: { kind: 'task', id: t.id } }) });
    return list;
  }, [state.projects, state.tasks, state.sessions]);
  const shown = commands.filter((c) => fuzzy(q, c.label)).slice(0, 12);
  return (
    <div class="palette">
      <input ref={focus} placeholder="Type a command, a task or a session…" value={q}
        onInput={(e) => { setQ((e.target as HTMLInputElement).value); setIndex(0); }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') { setIndex(Math.min(index + 1, shown.length - 1)); e.preventDefault(); }
          if (e.key === 'ArrowUp') { setIndex(Math.max(index - 1, 0)); e.preventDefault(); }
          if (e.key === 'Enter' && shown[index]) shown[index].run();
        }} />
      <ul>{shown.map((c, i) => <li class={i === index ? 'on' : ''} onMouseDown={() => c.run()}>{c.label}{c.hint && <span class="kbd">{c.hint}</span>}</li>)}</ul>
    </div>
  );
}

function fuzzy(q: string, text: string) {
  let i = 0;
  const t = text.toLowerCase();
  for (const c of q.toLowerCase()) { i = t.indexOf(c, i); if (i < 0) return false; i++; }
  return true;
}

function jumpToWaiting(store: Store) {
  const waiting = store.projectSessions().filter((s) => s.status === 'waiting');
  if (!waiting.length) return;
  // Cycles: the one after the active terminal, in sidebar order.
  const current = waiting.findIndex((s) => s.id === store.state.activeTab);
  store.openTerminal(waiting[(current + 1) % waiting.length].id);
}

/** Starts a session in a pane drawn first, so that the agent has the pane's size from its first byte. */
async function startInPane(store: Store, body: Parameters<Store['api']['startSession']>[0]) {
  const before = store.state.tabs.filter((t) => t !== PENDING);
  store.set({ dialog: null, view: 'terminals', tabs: [...before, PENDING], activeTab: PENDING });
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const { paneSize } = await terminalModule();
  const host = document.querySelector<HTMLElement>(`.pane[data-session="${PENDING}"] .xterm-host`);
  const size = host ? paneSize(host) : null;
  try {
    const s = await store.api.startSession({ ...body, ...(size ?? {}) });
    store.set({ sessions: { ...store.state.sessions, [s.id]: s }, tabs: store.state.tabs.filter((t) => t !== PENDING) });
    store.openTerminal(s.id);
  } catch (err) {
    store.set({ tabs: before, activeTab: before[before.length - 1] ?? null });
    throw err;
  }
}

const INSTALL: Record<string, string> = {
  claude: 'not found — npm install -g @anthropic-ai/claude-code',
  codex: 'not found — npm install -g @openai/codex',
  gemini: 'not found — npm install -g @google/gemini-cli',
  aider: 'not found — pipx install aider-chat',
  opencode: 'not found — npm install -g opencode-ai',
};

function installHint(program: string) {
  return INSTALL[program] ?? `not found on PATH: ${program}`;
}

/** History names people and sessions, not ids. */
function actorName(state: State, actor: string) {
  const id = actor.startsWith('session:') ? actor.slice(8) : null;
  return id ? state.sessions[id]?.name ?? 'an agent' : actor;
}

function nameOf(state: State, value: string) {
  return state.sessions[value]?.name ?? state.tasks[value]?.title ?? value;
}

function DependencyPicker({ task, others, onChange }: { task: Task; others: Task[]; onChange(ids: string[]): void }) {
  const [q, setQ] = useState('');
  const chosen = new Set(task.dependsOn);
  const shown = others.filter((t) => !q || t.title.toLowerCase().includes(q.toLowerCase()));
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id); else next.add(id);
    onChange([...next]);
  };
  if (!others.length) return <p class="muted">No other task in this project.</p>;
  return (
    <div class="deps" aria-label="Dependencies">
      <p class="muted hint">This task waits for the ones ticked here.</p>
      {others.length > 6 && <input placeholder="Find a task…" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />}
      <ul>
        {shown.map((t) => (
          <li><label class="dep-option"><input type="checkbox" data-dep={t.id} checked={chosen.has(t.id)} onChange={() => toggle(t.id)} />
            {t.title} <span class="muted">{t.status.replace('_', ' ')}</span></label></li>
        ))}
      </ul>
    </div>
  );
}

function KeyboardHelp() {
  return (
    <div class="keys-help">
      <h3>Keyboard</h3>
      <p class="muted">Inside a terminal every key goes to the agent, Ctrl+letters too; the app's keys use combinations terminals do not.</p>
      <table><tbody>{helpRows().map((r) => <tr><td><span class="kbd">{r.keys}</span></td><td>{r.label}</td></tr>)}</tbody></table>
    </div>
  );
}

function useKeyboard(store: Store) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = shortcut(e);
      const s = store.state;
      if (action) {
        e.preventDefault();
        if (action === 'palette') store.set({ dialog: s.dialog === 'palette' ? null : 'palette' });
        if (action === 'next-waiting') { store.set({ dialog: null }); jumpToWaiting(store); }
        if (action === 'split-2') store.set({ layout: 2, view: 'terminals' });
        if (action === 'split-4') store.set({ layout: 4, view: 'terminals' });
        if (action === 'close-pane' && s.view === 'terminals' && s.activeTab) store.closeTab(s.activeTab);
        if (action.startsWith('session-')) {
          const target = store.projectSessions()[Number(action.slice(8)) - 1];
          if (target) store.openTerminal(target.id);
        }
        return;
      }
      if (e.key === 'Escape' && s.dialog) { store.set({ dialog: null }); return; }
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement
        || (e.target as HTMLElement)?.closest?.('.xterm');
      if (typing || e.ctrlKey || e.metaKey || e.altKey || s.dialog) return;
      if (e.key === '?') { e.preventDefault(); store.set({ dialog: 'keys' }); }
      if (e.key === 'n' && s.projectId) { e.preventDefault(); store.set({ dialog: 'new-task' }); }
      if (e.key === 'r' && s.selected?.kind === 'task') { e.preventDefault(); store.set({ dialog: { run: s.selected.id } }); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
