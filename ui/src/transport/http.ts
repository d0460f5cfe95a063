// The browser transport: fetch for calls, a WebSocket for events and one per terminal. The token
// arrives once in the URL fragment (never sent to the server), is kept for this tab only, and is
// wiped from the address bar.

import type { Api, LinkState, TerminalConnection, TerminalHandlers } from './api';
import { ApiError } from './api';
import type { BusEvent } from '../types';

const TOKEN_KEY = 'baton.token';

export function takeToken(): string | null {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    const token = decodeURIComponent(match[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function httpApi(base: string, initialToken: string): Api {
  const wsBase = base.replace(/^http/, 'ws');
  let token = initialToken;
  const protocols = () => ['baton.v1', `bearer.${token}`];

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (method !== 'GET' && method !== 'DELETE') headers['Content-Type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, json?.code ?? 'error', json?.error ?? res.statusText, json?.details);
    return json as T;
  }
  const q = encodeURIComponent;

  return {
    listProjects: () => call('GET', '/api/projects'),
    createProject: (body) => call('POST', '/api/projects', body),
    listTasks: (projectId) => call('GET', `/api/tasks?projectId=${q(projectId)}`),
    createTask: (body) => call('POST', '/api/tasks', body),
    updateTask: (id, patch) => call('PATCH', `/api/tasks/${q(id)}`, patch),
    deleteTask: async (id) => { await call('DELETE', `/api/tasks/${q(id)}`); },
    addSubtask: (taskId, title) => call('POST', `/api/tasks/${q(taskId)}/subtasks`, { title }),
    updateSubtask: (taskId, sid, patch) => call('PATCH', `/api/tasks/${q(taskId)}/subtasks/${q(sid)}`, patch),
    setDependencies: (taskId, dependsOn) => call('PUT', `/api/tasks/${q(taskId)}/dependencies`, { dependsOn }),
    taskHistory: (taskId) => call('GET', `/api/tasks/${q(taskId)}/history`),
    listSessions: (projectId) => call('GET', `/api/sessions?projectId=${q(projectId)}`),
    startSession: (body) => call('POST', '/api/sessions', body),
    stopSession: (id) => call('POST', `/api/sessions/${q(id)}/stop`, {}),
    restartSession: (id) => call('POST', `/api/sessions/${q(id)}/restart`, {}),
    resumeSession: (id) => call('POST', `/api/sessions/${q(id)}/resume`, {}),
    decideAction: async (sessionId, actionId, decision, reason) => {
      await call('POST', `/api/sessions/${q(sessionId)}/actions/${q(actionId)}`, { decision, reason });
    },
    sessionUsage: (id) => call('GET', `/api/sessions/${q(id)}/usage`),
    taskUsage: (id) => call('GET', `/api/tasks/${q(id)}/usage`),
    projectUsage: (id) => call('GET', `/api/projects/${q(id)}/usage`),
    priceTable: () => call('GET', '/api/prices'),
    setPrices: (prices) => call('PUT', '/api/prices', { prices }),
    resetPrices: () => call('DELETE', '/api/prices'),
    sendInput: async (id, text) => { await call('POST', `/api/sessions/${q(id)}/input`, { text }); },
    listAgents: () => call('GET', '/api/agents'),
    createAgent: (body) => call('POST', '/api/agents', body),
    updateAgent: (id, patch) => call('PATCH', `/api/agents/${q(id)}`, patch),
    regenerateToken: async () => {
      const r = await call<{ token: string }>('POST', '/api/token/regenerate', {});
      token = r.token;
      sessionStorage.setItem(TOKEN_KEY, token);
      return token;
    },
    listMessages: (projectId, taskId) =>
      call('GET', `/api/messages?projectId=${q(projectId)}${taskId ? `&taskId=${q(taskId)}` : ''}`),
    postMessage: (body) => call('POST', '/api/messages', body),
    executeTask: (id, body) => call('POST', `/api/tasks/${q(id)}/execute`, body),
    cancelTask: (id, reason) => call('POST', `/api/tasks/${q(id)}/cancel`, reason ? { reason } : {}),
    retryTask: (id) => call('POST', `/api/tasks/${q(id)}/retry`, {}),
    resumeTask: (id) => call('POST', `/api/tasks/${q(id)}/resume`, {}),
    bulkTasks: (body) => call('POST', '/api/tasks/bulk', body),
    taskRuns: (id) => call('GET', `/api/tasks/${q(id)}/runs`),
    runOutput: async (id) => {
      const res = await fetch(`${base}/api/runs/${q(id)}/output`, { headers: { Authorization: `Bearer ${token}` } });
      if (!res.ok) throw new ApiError(res.status, 'error', res.statusText, null);
      return new TextDecoder().decode(await res.arrayBuffer());
    },
    taskWorkspace: (id) => call('GET', `/api/tasks/${q(id)}/workspace`),
    taskDiff: (id) => call('GET', `/api/tasks/${q(id)}/diff`),
    taskConflicts: (id) => call('GET', `/api/tasks/${q(id)}/conflicts`),
    commitTask: (id, message) => call('POST', `/api/tasks/${q(id)}/commit`, { message }),
    mergeTask: (id) => call('POST', `/api/tasks/${q(id)}/merge`, {}),
    archiveTask: (id) => call('POST', `/api/tasks/${q(id)}/archive`, {}),
    sendReview: (id, comments) => call('POST', `/api/tasks/${q(id)}/review`, { comments }),
    queueStatus: () => call('GET', '/api/queue'),
    setQueueLimit: (maxConcurrent) => call('PATCH', '/api/queue', { maxConcurrent }),
    pauseQueue: (paused) => call('POST', `/api/queue/${paused ? 'pause' : 'resume'}`, {}),

    events(onEvent: (e: BusEvent) => void, onState: (s: LinkState) => void) {
      let ws: WebSocket | null = null;
      let stopped = false;
      let delay = 250;
      const open = () => {
        ws = new WebSocket(`${wsBase}/ws`, protocols());
        ws.onopen = () => { delay = 250; onState('connected'); };
        ws.onmessage = (m) => {
          const data = JSON.parse(m.data as string);
          if (data.event) onEvent(data as BusEvent);
        };
        ws.onclose = () => {
          if (stopped) return;
          onState('reconnecting');
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 5000);
        };
      };
      open();
      return () => { stopped = true; ws?.close(); };
    },

    terminal(sessionId: string, offset: number | null, h: TerminalHandlers): TerminalConnection {
      const query = offset === null ? '' : `?offset=${offset}`;
      const ws = new WebSocket(`${wsBase}/api/sessions/${q(sessionId)}/terminal${query}`, protocols());
      ws.binaryType = 'arraybuffer';
      let ended = false;
      let size: { cols: number; rows: number } | null = null;
      const sendSize = () => { if (size) ws.send(JSON.stringify({ type: 'resize', ...size })); };
      ws.onopen = sendSize;
      ws.onmessage = (m) => {
        if (typeof m.data === 'string') {
          const msg = JSON.parse(m.data);
          if (msg.type === 'replay') h.onReplay(msg.offset);
          if (msg.type === 'screen') h.onScreen(msg.offset, msg.data);
          if (msg.type === 'exit') { ended = true; h.onExit(msg.code ?? null, msg.signal ?? null); }
        } else {
          h.onData(new Uint8Array(m.data as ArrayBuffer));
        }
      };
      ws.onclose = () => { if (!ended) h.onDrop(); };
      const encoder = new TextEncoder();
      return {
        write: (data) => { if (ws.readyState === WebSocket.OPEN) ws.send(typeof data === 'string' ? encoder.encode(data) : data); },
        resize: (cols, rows) => { size = { cols, rows }; if (ws.readyState === WebSocket.OPEN) sendSize(); },
        close: () => { ended = true; ws.close(); },
      };
    },

    describe: () => ({ url: base, token }),
  };
}
