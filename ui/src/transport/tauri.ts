// The desktop transport: one Tauri command per call, the event bus as the `baton://event` Tauri
// event, and terminal bytes over a Channel as raw binary (never JSON arrays of numbers).

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Api, LinkState, TerminalConnection, TerminalHandlers } from './api';
import { ApiError } from './api';
import type { BusEvent } from '../types';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e: any) {
    throw new ApiError(0, e?.code ?? 'error', e?.error ?? String(e), e?.details);
  }
}

export function isDesktop(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** Tells the desktop that the first screen is painted (it logs the time since start). */
export function reportPainted() {
  requestAnimationFrame(() => setTimeout(() => { invoke('ui_painted').catch(() => {}); }, 0));
}

export async function tauriApi(): Promise<Api> {
  const info = await call<{ url: string; token: string; savedPort: number | null }>('api_info');
  return {
    listProjects: () => call('list_projects'),
    createProject: (body) => call('create_project', { body }),
    listTasks: (projectId) => call('list_tasks', { projectId }),
    createTask: (body) => call('create_task', { body }),
    updateTask: (id, patch) => call('update_task', { id, patch }),
    deleteTask: (id) => call('delete_task', { id }),
    addSubtask: (taskId, title) => call('add_subtask', { taskId, title }),
    updateSubtask: (taskId, subtaskId, patch) => call('update_subtask', { taskId, subtaskId, patch }),
    setDependencies: (taskId, dependsOn) => call('set_dependencies', { taskId, dependsOn }),
    taskHistory: (taskId) => call('task_history', { taskId }),
    listSessions: (projectId) => call('list_sessions', { projectId }),
    startSession: (body) => call('start_session', { body }),
    stopSession: (id) => call('stop_session', { id }),
    restartSession: (id) => call('restart_session', { id }),
    sendInput: (id, text) => call('terminal_write', { sessionId: id, data: text }),
    listAgents: () => call('list_agents'),
    createAgent: (body) => call('create_agent', { body }),
    updateAgent: (id, patch) => call('update_agent', { id, patch }),
    regenerateToken: async () => { info.token = await call<string>('regenerate_token'); return info.token; },
    setApiPort: async (port) => { await call('set_api_port', { port }); info.savedPort = port; },
    listMessages: (projectId, taskId) => call('list_messages', { projectId, taskId: taskId ?? null }),
    postMessage: (body) => call('post_message', { body }),

    events(onEvent: (e: BusEvent) => void, onState: (s: LinkState) => void) {
      const stops: Array<() => void> = [];
      listen<BusEvent>('baton://event', (e) => onEvent(e.payload)).then((u) => stops.push(u));
      // The core lives in this process: the link only "drops" if the window fell behind.
      listen('baton://resync', () => { onState('reconnecting'); onState('connected'); }).then((u) => stops.push(u));
      queueMicrotask(() => onState('connected'));
      return () => stops.forEach((s) => s());
    },

    terminal(sessionId: string, offset: number | null, h: TerminalHandlers): TerminalConnection {
      const output = new Channel<ArrayBuffer | { type: string; offset?: number; data?: string; code?: number; signal?: string }>();
      let ended = false;
      output.onmessage = (m) => {
        if (m instanceof ArrayBuffer) { h.onData(new Uint8Array(m)); return; }
        if (m.type === 'replay') h.onReplay(m.offset ?? 0);
        if (m.type === 'screen') h.onScreen(m.offset ?? 0, m.data ?? '');
        if (m.type === 'exit') { ended = true; h.onExit(m.code ?? null, m.signal ?? null); }
        if (m.type === 'lagged') { ended = true; h.onDrop(); }
      };
      const attachment = call<number>('terminal_attach', { sessionId, offset, output })
        .catch(() => { if (!ended) h.onDrop(); return null; });
      return {
        write: (data) => {
          const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
          call('terminal_write', { sessionId, data: text }).catch(() => {});
        },
        resize: (cols, rows) => { call('terminal_resize', { sessionId, cols, rows }).catch(() => {}); },
        close: () => { ended = true; attachment.then((id) => { if (id !== null) call('terminal_detach', { attachment: id }); }); },
      };
    },

    describe: () => info,
  };
}

/** Closing the window: ask first when agents run, then stop them cleanly and quit. */
export function onCloseRequested(hasRunning: () => number) {
  listen('baton://close-requested', async () => {
    const running = hasRunning();
    if (running && !confirm(`${running} agent(s) are running. Stop them and quit?`)) return;
    await call('quit');
  });
}
