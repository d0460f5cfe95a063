// App state: what the server said, kept live by its events. After a reconnect everything is
// reloaded (events missed while away are not replayed).

import { useEffect, useState } from 'preact/hooks';
import type { Api, LinkState } from './transport/api';
import type { AgentProfile, BusEvent, Message, Project, QueueStatus, Session, Task, TaskConflict } from './types';
import { isActive } from './types';

export type View = 'board' | 'terminals';

export interface State {
  projects: Project[];
  projectId: string | null;
  tasks: Record<string, Task>;
  sessions: Record<string, Session>;
  agents: AgentProfile[];
  messages: Message[];
  link: LinkState | 'connecting';
  view: View;
  selected: { kind: 'task' | 'session'; id: string } | null;
  tabs: string[];
  activeTab: string | null;
  layout: 1 | 2 | 4;
  filter: string;
  error: string | null;
  dialog: null | 'palette' | 'settings' | 'new-task' | 'new-project' | 'keys' | { run: string } | { review: string };
  /** Bumped to put the keyboard focus into the active terminal again. */
  focusSeq: number;
  /** The right panel: shown, and its width in pixels. */
  details: { open: boolean; width: number };
  /** The queue over every project (null until read). */
  queue: QueueStatus | null;
  /** Tasks ticked on the board for a bulk action. */
  picked: string[];
  /** Bumped by every run that starts or ends (the details' list of runs reads them again). */
  runsSeq: number;
  /** Bumped when a task's worktree is made, restored or removed. */
  workspaceSeq: number;
  /** Each task's conflicts with sibling tasks (or its base branch), from `task:conflicts`. */
  conflicts: Record<string, TaskConflict[]>;
}

/** The tab of a pane drawn before its session exists (so that its size is known first). */
export const PENDING = 'pending';

const PROJECT_KEY = 'baton.project';
const LAYOUT_KEY = 'baton.layout';
const DETAILS_KEY = 'baton.details';

/** What survives a reload, per project: open terminal tabs, the active one, the view, the layout. */
interface Layout { tabs: string[]; activeTab: string | null; view: View; layout: 1 | 2 | 4 }

function savedLayouts(): Record<string, Layout> {
  try { return JSON.parse(localStorage.getItem(LAYOUT_KEY) ?? '{}'); } catch { return {}; }
}

function savedDetails(): { open: boolean; width: number } {
  try { return { open: true, width: 280, ...JSON.parse(localStorage.getItem(DETAILS_KEY) ?? '{}') }; } catch { return { open: true, width: 280 }; }
}

export class Store {
  state: State = {
    projects: [], projectId: localStorage.getItem(PROJECT_KEY), tasks: {}, sessions: {}, agents: [],
    messages: [], link: 'connecting', view: 'board', selected: null, tabs: [], activeTab: null,
    layout: 1, filter: '', error: null, dialog: null, focusSeq: 0, details: savedDetails(),
    queue: null, picked: [], runsSeq: 0, workspaceSeq: 0, conflicts: {},
  };
  private listeners = new Set<() => void>();
  /** Sessions whose waiting we already announced. */
  private announced = new Set<string>();

  constructor(public api: Api) {}

  set(patch: Partial<State>) {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
    document.title = this.title();
    if ('tabs' in patch || 'activeTab' in patch || 'view' in patch || 'layout' in patch) this.saveLayout();
    if ('details' in patch) localStorage.setItem(DETAILS_KEY, JSON.stringify(this.state.details));
  }

  private restoring = false;

  private saveLayout() {
    const { projectId, tabs, activeTab, view, layout } = this.state;
    if (!projectId || this.restoring) return;
    const all = savedLayouts();
    all[projectId] = { tabs: tabs.filter((t) => t !== PENDING), activeTab: activeTab === PENDING ? null : activeTab, view, layout };
    localStorage.setItem(LAYOUT_KEY, JSON.stringify(all));
  }

  subscribe(l: () => void) {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }

  title() {
    const waiting = this.projectSessions().filter((s) => s.status === 'waiting').length;
    return waiting ? `(${waiting}) Baton` : 'Baton';
  }

  async start() {
    this.api.events((e) => this.apply(e), (link) => {
      const was = this.state.link;
      this.set({ link });
      if (link === 'connected' && was !== 'connected') this.reload().catch((e) => this.fail(e));
    });
  }

  fail(e: unknown) {
    this.set({ error: e instanceof Error ? e.message : String(e) });
  }

  async reload() {
    const [projects, agents, queue] = await Promise.all([
      this.api.listProjects(), this.api.listAgents(), this.api.queueStatus().catch(() => null),
    ]);
    let projectId = this.state.projectId;
    if (!projects.some((p) => p.id === projectId)) projectId = projects[0]?.id ?? null;
    this.set({ projects, agents, projectId, queue });
    await this.loadProject();
  }

  async loadProject() {
    const id = this.state.projectId;
    if (!id) { this.set({ tasks: {}, sessions: {}, messages: [] }); return; }
    localStorage.setItem(PROJECT_KEY, id);
    const [tasks, sessions, messages] = await Promise.all([
      this.api.listTasks(id), this.api.listSessions(id), this.api.listMessages(id),
    ]);
    for (const s of sessions) if (s.status === 'waiting') this.announced.add(s.id);
    const exists = (t: string) => sessions.some((s) => s.id === t);
    // The first load of a project brings back its tabs and layout from before a reload.
    const saved = this.state.tabs.length ? null : savedLayouts()[id];
    const tabs = saved ? saved.tabs.filter(exists) : this.state.tabs.filter((t) => t === PENDING || exists(t));
    this.set({
      tasks: Object.fromEntries(tasks.map((t) => [t.id, t])),
      sessions: Object.fromEntries(sessions.map((s) => [s.id, s])),
      messages,
      tabs,
      ...(saved ? {
        activeTab: saved.activeTab && tabs.includes(saved.activeTab) ? saved.activeTab : tabs[0] ?? null,
        view: saved.view, layout: saved.layout,
      } : {}),
    });
  }

  async selectProject(projectId: string) {
    this.restoring = true;
    this.set({ projectId, selected: null, tabs: [], activeTab: null, picked: [] });
    this.restoring = false;
    await this.loadProject();
  }

  projectSessions(): Session[] {
    return Object.values(this.state.sessions)
      .filter((s) => s.projectId === this.state.projectId)
      .sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
  }

  /** Shows the session's terminal and puts the keyboard focus into it. */
  openTerminal(sessionId: string) {
    const tabs = this.state.tabs.includes(sessionId) ? this.state.tabs : [...this.state.tabs, sessionId];
    this.set({
      tabs, activeTab: sessionId, view: 'terminals', selected: { kind: 'session', id: sessionId },
      focusSeq: this.state.focusSeq + 1,
    });
  }

  /** Ticks a task for a bulk action (or unticks it). */
  pick(taskId: string) {
    const picked = this.state.picked.includes(taskId) ? this.state.picked.filter((p) => p !== taskId) : [...this.state.picked, taskId];
    this.set({ picked });
  }

  closeTab(sessionId: string) {
    const tabs = this.state.tabs.filter((t) => t !== sessionId);
    this.set({ tabs, activeTab: this.state.activeTab === sessionId ? tabs[tabs.length - 1] ?? null : this.state.activeTab });
  }

  private apply({ event, data }: BusEvent) {
    const s = this.state;
    const mine = (projectId: string) => projectId === s.projectId;
    switch (event) {
      case 'project:created': case 'project:updated': {
        const others = s.projects.filter((p) => p.id !== data.id);
        this.set({ projects: [...others, data].sort((a, b) => a.createdAt - b.createdAt) });
        if (!s.projectId) this.selectProject(data.id).catch((e) => this.fail(e));
        break;
      }
      case 'project:deleted':
        this.set({ projects: s.projects.filter((p) => p.id !== data.id) });
        if (s.projectId === data.id) this.reload().catch((e) => this.fail(e));
        break;
      case 'task:created': case 'task:updated':
        if (mine(data.projectId)) this.set({ tasks: { ...s.tasks, [data.id]: data } });
        break;
      case 'task:deleted': {
        const { [data.id]: _gone, ...rest } = s.tasks;
        this.set({ tasks: rest, selected: s.selected?.id === data.id ? null : s.selected, picked: s.picked.filter((p) => p !== data.id) });
        break;
      }
      case 'queue:updated':
        this.set({ queue: data });
        break;
      case 'run:started': case 'run:ended':
        if (mine(data.projectId)) this.set({ runsSeq: s.runsSeq + 1 });
        break;
      case 'session:created': case 'session:updated':
        if (mine(data.projectId)) {
          this.set({ sessions: { ...s.sessions, [data.id]: data } });
          this.notifyIfWaiting(data);
        }
        break;
      case 'session:deleted': {
        const { [data.id]: _gone, ...rest } = s.sessions;
        this.set({ sessions: rest });
        this.closeTab(data.id);
        break;
      }
      case 'message:created':
        if (mine(data.projectId)) this.set({ messages: [...s.messages, data] });
        break;
      case 'workspace:updated': case 'workspace:removed':
        if (mine(data.projectId)) this.set({ workspaceSeq: s.workspaceSeq + 1 });
        break;
      case 'task:conflicts':
        if (mine(data.projectId)) this.set({ conflicts: { ...s.conflicts, [data.taskId]: data.conflicts } });
        break;
    }
  }

  /** A native notification when an agent starts waiting, unless the user is looking at it. */
  private notifyIfWaiting(session: Session) {
    if (session.status !== 'waiting') { this.announced.delete(session.id); return; }
    if (this.announced.has(session.id)) return;
    this.announced.add(session.id);
    const looking = document.hasFocus() && this.state.view === 'terminals' && this.state.activeTab === session.id;
    if (looking) return;
    // Which agent, and what it asks: the tool it wants to run, or the last line of its screen.
    const asked = session.activity === 'waiting_permission' ? session.permission : null;
    // A click on it opens the agent's terminal (its pane header has Allow / Deny).
    const open = () => this.openTerminal(session.id);
    if (asked) notify(`${session.name} asks to run ${asked.tool}`, asked.summary, open);
    else notify(`${session.name} is waiting`, session.question[session.question.length - 1] ?? 'An agent needs you', open);
  }
}

export let notify = (title: string, body: string, onClick?: () => void) => {
  if (typeof Notification === 'undefined') return;
  if (Notification.permission === 'granted') {
    const n = new Notification(title, { body });
    n.onclick = () => { window.focus(); onClick?.(); n.close(); };
  } else if (Notification.permission === 'default') Notification.requestPermission();
};

export function setNotifier(fn: typeof notify) {
  notify = fn;
}

function rank(s: Session) {
  if (s.status === 'waiting') return 0;
  if (isActive(s)) return 1;
  return 2;
}

export function useStore(store: Store): State {
  const [state, setState] = useState(store.state);
  useEffect(() => {
    const unsubscribe = store.subscribe(() => setState(store.state));
    // Changes made before this effect ran (it runs after paint) would otherwise be missed.
    setState(store.state);
    return unsubscribe;
  }, [store]);
  return state;
}
