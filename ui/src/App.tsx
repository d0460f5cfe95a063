// The window: projects and live sessions on the left, the board or the terminals in the centre,
// the selected task or session on the right. Keyboard first: Ctrl/Cmd+K opens the palette.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Store, State } from './store';
import { useStore } from './store';
import { TerminalPane } from './Terminal';
import type { HistoryEntry, Session, Task, TaskStatus } from './types';
import { isActive } from './types';

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

function dotClass(s: Session) {
  if (s.status === 'waiting') return 'waiting';
  if (s.status === 'running' || s.status === 'starting') return 'working';
  return s.status;
}

function ago(ms: number | null) {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

export function App({ store }: { store: Store }) {
  const state = useStore(store);
  useKeyboard(store);
  return (
    <div class="app">
      {state.link !== 'connected' && <div class="linkbar">{state.link === 'connecting' ? 'connecting…' : 'reconnecting…'}</div>}
      {state.error && <div class="errorbar" onClick={() => store.set({ error: null })}>{state.error} <span class="muted">(click to dismiss)</span></div>}
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
                <button class={state.layout === n ? 'on' : ''} title={`${n} pane(s)`} onClick={() => store.set({ layout: n })}>{n}</button>
              ))}
            </div>
          )}
          <button class="ghost" onClick={() => store.set({ dialog: 'palette' })} title="Command palette">⌘K</button>
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
      <div class="section-title">Sessions</div>
      <ul class="sessions">
        {sessions.map((s, i) => (
          <li class={`session-item ${s.status}`} data-session={s.id} onClick={() => store.openTerminal(s.id)}
            title={`${s.status}${i < 9 ? ` — Ctrl+${i + 1}` : ''}`}>
            <span class={`dot ${dotClass(s)}`} />
            <span class="grow">
              {s.name}
              {report(s) && <small class="report" title={report(s)}>{report(s)}</small>}
            </span>
            <span class="muted">{isActive(s) ? ago(s.startedAt) : s.status}</span>
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
          <li class="message"><span class={`mtype ${m.type}`}>{m.type}</span> <span class="muted">{m.author}</span><div>{m.body}</div></li>
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
    return <div class="empty-state"><h2>Welcome to Baton</h2><p>Create a project (a working folder) to start.</p>
      <button onClick={() => store.set({ dialog: 'new-project' })}>Create a project</button></div>;
  }
  return (
    <div class="board">
      {columns.map((col) => (
        <section class={`column ${dragging ? 'droppable' : ''}`} data-status={col.status}
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => { e.preventDefault(); const id = e.dataTransfer?.getData('text/plain'); if (id) move(id, col.status); setDragging(null); }}>
          <header>{col.label} <span class="count">{shown.filter((t) => t.status === col.status).length}</span></header>
          {shown.filter((t) => t.status === col.status).sort((a, b) => a.createdAt - b.createdAt).map((t) => (
            <Card key={t.id} task={t} store={store} state={state} onDrag={setDragging} />
          ))}
        </section>
      ))}
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
      <div class="card-title">{task.title}</div>
      <div class="card-meta">
        <span class={`prio ${task.priority}`}>{task.priority}</span>
        {task.tags.map((t) => <span class="tag">{t}</span>)}
        {task.subtasks.length > 0 && <span class="muted">☑ {done}/{task.subtasks.length}</span>}
        <span class="spacer" />
        {sessions.map((s) => <span class={`badge ${dotClass(s)}`} title={`${s.name}: ${s.status}`}
          onClick={(e) => { e.stopPropagation(); store.openTerminal(s.id); }}>{s.status === 'waiting' ? 'waiting' : s.agentId ?? 'agent'}</span>)}
      </div>
    </article>
  );
}

function Terminals({ store, state }: { store: Store; state: State }) {
  const sessions = state.tabs.map((id) => state.sessions[id]).filter(Boolean) as Session[];
  if (!sessions.length) return <div class="empty-state"><p>No terminal open. Pick a session on the left, or run a task.</p></div>;
  const active = state.activeTab && state.tabs.includes(state.activeTab) ? state.activeTab : sessions[0].id;
  const start = Math.max(0, sessions.findIndex((s) => s.id === active) - (state.layout - 1));
  const visible = state.layout === 1 ? sessions.filter((s) => s.id === active) : sessions.slice(start, start + state.layout);
  const act = (f: () => Promise<unknown>) => f().catch((e) => store.fail(e));
  return (
    <div class="terminals">
      <div class="tabbar">
        {sessions.map((s) => (
          <button class={`tab ${s.id === active ? 'on' : ''}`} onClick={() => store.set({ activeTab: s.id, selected: { kind: 'session', id: s.id } })}>
            <span class={`dot ${dotClass(s)}`} /> {s.name}
          </button>
        ))}
      </div>
      <div class={`grid grid-${Math.min(state.layout, visible.length)}`}>
        {visible.map((s) => (
          <TerminalPane key={s.id} api={store.api} session={s} focused={s.id === active}
            onFocus={() => store.set({ activeTab: s.id, selected: { kind: 'session', id: s.id } })}
            onStop={() => act(() => store.api.stopSession(s.id))}
            onRestart={() => act(() => store.api.restartSession(s.id))}
            onClose={() => store.closeTab(s.id)} />
        ))}
      </div>
    </div>
  );
}

function Details({ store, state }: { store: Store; state: State }) {
  const sel = state.selected;
  if (!sel) return <aside class="details muted"><p class="empty">Select a task or a session.</p></aside>;
  if (sel.kind === 'session') {
    const s = state.sessions[sel.id];
    if (!s) return <aside class="details" />;
    return (
      <aside class="details">
        <h3><span class={`dot ${dotClass(s)}`} /> {s.name}</h3>
        <dl>
          <dt>Status</dt><dd>{s.status}{s.activity ? ` · ${s.activity}` : ''}</dd>
          {report(s) && <><dt>Report</dt><dd class="report-detail">
            {s.progress !== null && <progress max={100} value={s.progress} />} {report(s)}
          </dd></>}
          <dt>Agent</dt><dd>{s.agentId ?? '—'}</dd>
          <dt>Command</dt><dd><code>{s.command.join(' ') || '(record only)'}</code></dd>
          {s.exitCode !== null && <><dt>Exit</dt><dd>{s.signal ?? `code ${s.exitCode}`}</dd></>}
          <dt>Tasks</dt><dd>{s.taskIds.map((t) => <a onClick={() => store.set({ selected: { kind: 'task', id: t } })}>{state.tasks[t]?.title ?? t}</a>)}</dd>
        </dl>
      </aside>
    );
  }
  const task = state.tasks[sel.id];
  return task ? <TaskDetails key={task.id} store={store} state={state} task={task} /> : <aside class="details" />;
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
    <aside class="details task-details">
      <input class="title-edit" value={task.title} onChange={edit('title')} aria-label="Title" />
      <div class="row">
        <select value={task.status} aria-label="Status" onChange={(e) => act(() => store.api.updateTask(task.id, { status: (e.target as HTMLSelectElement).value as TaskStatus }))}>
          {COLUMNS.map((c) => <option value={c.status}>{c.label}</option>)}
        </select>
        <select value={task.priority} aria-label="Priority" onChange={(e) => act(() => store.api.updateTask(task.id, { priority: (e.target as HTMLSelectElement).value as Task['priority'] }))}>
          {['low', 'medium', 'high'].map((p) => <option value={p}>{p}</option>)}
        </select>
        <button class="primary" onClick={() => store.set({ dialog: { run: task.id } })}>Run with… <span class="kbd">R</span></button>
      </div>
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
      <select multiple size={Math.min(4, Math.max(2, others.length))} aria-label="Dependencies"
        onChange={(e) => act(() => store.api.setDependencies(task.id, Array.from((e.target as HTMLSelectElement).selectedOptions).map((o) => o.value)))}>
        {others.map((t) => <option value={t.id} selected={task.dependsOn.includes(t.id)}>{t.title}</option>)}
      </select>
      <div class="section-title">Sessions</div>
      <ul>
        {task.sessionIds.map((id) => state.sessions[id]).filter(Boolean).map((s) => (
          <li class="linklike" onClick={() => store.openTerminal(s!.id)}><span class={`dot ${dotClass(s!)}`} /> {s!.name} <span class="muted">{s!.status}</span></li>
        ))}
        {task.sessionIds.length === 0 && <li class="muted">None yet.</li>}
      </ul>
      <div class="section-title">Messages</div>
      <Feed store={store} state={state} taskId={task.id} />
      <div class="section-title">History</div>
      <ul class="history">
        {history.slice().reverse().map((h) => (
          <li><span class="muted">{new Date(h.createdAt).toLocaleTimeString()}</span> {h.actor} {h.action.replace('_', ' ')}{h.field ? ` ${h.field}` : ''}
            {h.newValue !== null && h.newValue !== undefined && typeof h.newValue !== 'object' ? <> → <b>{String(h.newValue)}</b></> : null}</li>
        ))}
      </ul>
      <button class="danger" onClick={() => { if (confirm(`Delete “${task.title}”?`)) act(() => store.api.deleteTask(task.id)); }}>Delete task</button>
    </aside>
  );
}

function Dialog({ store, state }: { store: Store; state: State }) {
  const close = () => store.set({ dialog: null });
  const d = state.dialog;
  return (
    <div class="overlay" onMouseDown={(e) => { if (e.target === e.currentTarget) close(); }}>
      <div class="dialog" onKeyDown={(e) => { if (e.key === 'Escape') close(); }}>
        {d === 'palette' && <Palette store={store} state={state} />}
        {d === 'settings' && <Settings store={store} state={state} />}
        {d === 'new-task' && <NewTask store={store} state={state} />}
        {d === 'new-project' && <NewProject store={store} />}
        {d && typeof d === 'object' && <RunWith store={store} state={state} taskId={d.run} />}
      </div>
    </div>
  );
}

function NewProject({ store }: { store: Store }) {
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const p = await store.api.createProject({ name, basePath: path.trim() || undefined });
      store.set({ dialog: null });
      await store.reload();
      await store.selectProject(p.id);
    } catch (err: any) { setError(err.message); }
  };
  return (
    <form onSubmit={submit}>
      <h3>New project</h3>
      <label>Name<input autoFocus name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
      <label>Folder (absolute path)<input name="basePath" placeholder="/home/me/src/app" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} /></label>
      {error && <p class="error">{error}</p>}
      <div class="row end"><button type="button" class="ghost" onClick={() => store.set({ dialog: null })}>Cancel</button><button class="primary">Create</button></div>
    </form>
  );
}

function NewTask({ store, state }: { store: Store; state: State }) {
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
      <label>Title<input autoFocus name="title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} /></label>
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
      const s = await store.api.startSession({ projectId: task.projectId, taskIds: [taskId], agentId, name: `${agentId}: ${task.title}`.slice(0, 200) });
      store.set({ dialog: null, sessions: { ...store.state.sessions, [s.id]: s } });
      store.openTerminal(s.id);
    } catch (err: any) { setError(err.message); }
  };
  return (
    <div>
      <h3>Run “{task?.title}” with…</h3>
      <ul class="agents">
        {state.agents.map((a) => (
          <li><button class="agent" data-agent={a.id} disabled={!a.available} onClick={() => run(a.id)}>
            <b>{a.name}</b> <span class="muted">{a.available ? a.version ?? a.path : 'not found on PATH'}</span>
          </button></li>
        ))}
      </ul>
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

interface Command { label: string; hint?: string; run(): void }

function Palette({ store, state }: { store: Store; state: State }) {
  const [q, setQ] = useState('');
  const [index, setIndex] = useState(0);
  const commands = useMemo<Command[]>(() => {
    const list: Command[] = [
      { label: 'New task', hint: 'N', run: () => store.set({ dialog: 'new-task' }) },
      { label: 'New project', run: () => store.set({ dialog: 'new-project' }) },
      { label: 'Show board', run: () => store.set({ view: 'board', dialog: null }) },
      { label: 'Show terminals', run: () => store.set({ view: 'terminals', dialog: null }) },
      { label: 'Split terminals: 1 pane', run: () => store.set({ layout: 1, view: 'terminals', dialog: null }) },
      { label: 'Split terminals: 2 panes', hint: 'Ctrl+Shift+D', run: () => store.set({ layout: 2, view: 'terminals', dialog: null }) },
      { label: 'Split terminals: 4 panes', run: () => store.set({ layout: 4, view: 'terminals', dialog: null }) },
      { label: 'Next waiting session', hint: 'Ctrl+J', run: () => { jumpToWaiting(store); store.set({ dialog: null }); } },
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
      <input autoFocus placeholder="Type a command, a task or a session…" value={q}
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
  const current = waiting.findIndex((s) => s.id === store.state.activeTab);
  store.openTerminal(waiting[(current + 1) % waiting.length].id);
}

function useKeyboard(store: Store) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement
        || (e.target as HTMLElement)?.closest?.('.xterm');
      if (mod && e.key.toLowerCase() === 'k') { e.preventDefault(); store.set({ dialog: store.state.dialog === 'palette' ? null : 'palette' }); return; }
      if (mod && e.key.toLowerCase() === 'j') { e.preventDefault(); jumpToWaiting(store); return; }
      if (mod && /^[1-9]$/.test(e.key)) {
        const s = store.projectSessions()[Number(e.key) - 1];
        if (s) { e.preventDefault(); store.openTerminal(s.id); }
        return;
      }
      if (mod && e.shiftKey && e.key.toLowerCase() === 'd') { e.preventDefault(); store.set({ layout: 2, view: 'terminals' }); return; }
      if (mod && e.shiftKey && e.key.toLowerCase() === 'e') { e.preventDefault(); store.set({ layout: 4, view: 'terminals' }); return; }
      if (mod && e.key.toLowerCase() === 'w' && store.state.view === 'terminals' && store.state.activeTab) { e.preventDefault(); store.closeTab(store.state.activeTab); return; }
      if (e.key === 'Escape' && store.state.dialog) { store.set({ dialog: null }); return; }
      if (typing || mod || store.state.dialog) return;
      if (e.key === 'n' && store.state.projectId) { e.preventDefault(); store.set({ dialog: 'new-task' }); }
      if (e.key === 'r' && store.state.selected?.kind === 'task') { e.preventDefault(); store.set({ dialog: { run: store.state.selected.id } }); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
