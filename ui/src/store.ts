// App state: what the server said, kept live by its events. After a reconnect everything is
// reloaded (events missed while away are not replayed).

import { useEffect, useState } from 'preact/hooks';
import type { Api, LinkState } from './transport/api';
import type { AgentProfile, BusEvent, Message, Project, Session, Task } from './types';
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
  dialog: null | 'palette' | 'settings' | 'new-task' | 'new-project' | { run: string };
}

const PROJECT_KEY = 'baton.project';

export class Store {
  state: State = {
    projects: [], projectId: localStorage.getItem(PROJECT_KEY), tasks: {}, sessions: {}, agents: [],
    messages: [], link: 'connecting', view: 'board', selected: null, tabs: [], activeTab: null,
    layout: 1, filter: '', error: null, dialog: null,
  };
  private listeners = new Set<() => void>();
  /** Sessions whose waiting we already announced. */
  private announced = new Set<string>();

  constructor(public api: Api) {}

  set(patch: Partial<State>) {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
    document.title = this.title();
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
    const [projects, agents] = await Promise.all([this.api.listProjects(), this.api.listAgents()]);
    let projectId = this.state.projectId;
    if (!projects.some((p) => p.id === projectId)) projectId = projects[0]?.id ?? null;
    this.set({ projects, agents, projectId });
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
    this.set({
      tasks: Object.fromEntries(tasks.map((t) => [t.id, t])),
      sessions: Object.fromEntries(sessions.map((s) => [s.id, s])),
      messages,
      tabs: this.state.tabs.filter((t) => sessions.some((s) => s.id === t)),
    });
  }

  async selectProject(projectId: string) {
    this.set({ projectId, selected: null, tabs: [], activeTab: null });
    await this.loadProject();
  }

  projectSessions(): Session[] {
    return Object.values(this.state.sessions)
      .filter((s) => s.projectId === this.state.projectId)
      .sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
  }

  openTerminal(sessionId: string) {
    const tabs = this.state.tabs.includes(sessionId) ? this.state.tabs : [...this.state.tabs, sessionId];
    this.set({ tabs, activeTab: sessionId, view: 'terminals', selected: { kind: 'session', id: sessionId } });
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
        this.set({ tasks: rest, selected: s.selected?.id === data.id ? null : s.selected });
        break;
      }
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
    }
  }

  /** A native notification when an agent starts waiting, unless the user is looking at it. */
  private notifyIfWaiting(session: Session) {
    if (session.status !== 'waiting') { this.announced.delete(session.id); return; }
    if (this.announced.has(session.id)) return;
    this.announced.add(session.id);
    const looking = document.hasFocus() && this.state.view === 'terminals' && this.state.activeTab === session.id;
    if (looking) return;
    notify(`${session.name} is waiting`, 'An agent needs you');
  }
}

export let notify = (title: string, body: string) => {
  if (typeof Notification === 'undefined') return;
  if (Notification.permission === 'granted') new Notification(title, { body });
  else if (Notification.permission === 'default') Notification.requestPermission();
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
