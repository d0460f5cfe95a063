// The desktop transport: one Tauri command per call (through the bindings generated from the
// Rust command list, `../generated/desktop.ts`), the event bus as the `baton://event` Tauri event,
// and terminal bytes over a Channel as raw binary (never JSON arrays of numbers).

import { Channel } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Api, LinkState, TerminalConnection, TerminalHandlers } from './api';
import { ApiError } from './api';
import type { BusEvent, PriceTable, Usage } from '../types';
import { commands } from '../generated/desktop';

/** A command's answer, its error turned into the API's error type. */
async function call<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (e: any) {
    throw new ApiError(0, e?.code ?? 'error', e?.error ?? String(e), e?.details);
  }
}

export function isDesktop(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** Tells the desktop that the first screen is painted (it logs the time since start). */
export function reportPainted() {
  requestAnimationFrame(() => setTimeout(() => { commands.uiPainted().catch(() => {}); }, 0));
}

export async function tauriApi(): Promise<Api> {
  const info = await call(commands.apiInfo());
  return {
    listProjects: () => call(commands.listProjects()),
    createProject: (body) => call(commands.createProject(body)),
    listTasks: (projectId) => call(commands.listTasks(projectId)),
    createTask: (body) => call(commands.createTask(body)),
    updateTask: (id, patch) => call(commands.updateTask(id, patch)),
    deleteTask: (id) => call(commands.deleteTask(id)).then(() => undefined),
    addSubtask: (taskId, title) => call(commands.addSubtask(taskId, title)),
    updateSubtask: (taskId, subtaskId, patch) => call(commands.updateSubtask(taskId, subtaskId, patch)),
    setDependencies: (taskId, dependsOn) => call(commands.setDependencies(taskId, dependsOn)),
    taskHistory: (taskId) => call(commands.taskHistory(taskId)),
    listSessions: (projectId) => call(commands.listSessions(projectId)),
    startSession: (body) => call(commands.startSession(body)),
    stopSession: (id) => call(commands.stopSession(id)),
    restartSession: (id) => call(commands.restartSession(id)),
    resumeSession: (id) => call(commands.resumeSession(id)),
    decideAction: (sessionId, actionId, decision, reason) =>
      call(commands.decideAction(sessionId, actionId, decision, reason ?? null)).then(() => undefined),
    // An f64 is `number | null` to the bindings (NaN); a cost is always a number.
    sessionUsage: (id) => call(commands.sessionUsage(id)).then((u) => u as Usage),
    taskUsage: (id) => call(commands.taskUsage(id)).then((u) => u as Usage),
    projectUsage: (id) => call(commands.projectUsage(id)).then((u) => u as Usage),
    priceTable: () => call(commands.priceTable()).then((t) => t as PriceTable),
    setPrices: (prices) => call(commands.setPrices({ prices })).then((t) => t as PriceTable),
    resetPrices: () => call(commands.resetPrices()).then((t) => t as PriceTable),
    sendInput: (id, text) => call(commands.terminalWrite(id, text)).then(() => undefined),
    listAgents: () => call(commands.listAgents()),
    createAgent: (body) => call(commands.createAgent(body)),
    updateAgent: (id, patch) => call(commands.updateAgent(id, patch)),
    regenerateToken: async () => { info.token = await call(commands.regenerateToken()); return info.token; },
    setApiPort: async (port) => { await call(commands.setApiPort(port)); info.savedPort = port; },
    listMessages: (projectId, taskId) => call(commands.listMessages(projectId, taskId ?? null)),
    postMessage: (body) => call(commands.postMessage(body)),
    executeTask: (id, body) => call(commands.executeTask(id, body)),
    cancelTask: (id, reason) => call(commands.cancelTask(id, reason ?? null)),
    retryTask: (id) => call(commands.retryTask(id)),
    resumeTask: (id) => call(commands.resumeTask(id)),
    // `data` is any JSON object; the generated binding types it as a JSON value.
    bulkTasks: (body) => call(commands.bulkTasks(body as Parameters<typeof commands.bulkTasks>[0])),
    taskRuns: (id) => call(commands.taskRuns(id)),
    runOutput: (id) => call(commands.runOutput(id)),
    taskWorkspace: (id) => call(commands.taskWorkspace(id)),
    taskDiff: (id) => call(commands.taskDiff(id)),
    taskConflicts: (id) => call(commands.taskConflicts(id)),
    commitTask: (id, message) => call(commands.commitTask(id, message)),
    mergeTask: (id) => call(commands.mergeTask(id)),
    archiveTask: (id) => call(commands.archiveTask(id)),
    sendReview: (id, comments) => call(commands.sendReview(id, comments)),
    queueStatus: () => call(commands.queueStatus()),
    setQueueLimit: (max) => call(commands.setQueueLimit(max)),
    pauseQueue: (paused) => call(commands.pauseQueue(paused)),

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
      const attachment = call(commands.terminalAttach(sessionId, offset, output as unknown as Parameters<typeof commands.terminalAttach>[2]))
        .catch(() => { if (!ended) h.onDrop(); return null; });
      return {
        write: (data) => {
          const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
          call(commands.terminalWrite(sessionId, text)).catch(() => {});
        },
        resize: (cols, rows) => { call(commands.terminalResize(sessionId, cols, rows)).catch(() => {}); },
        close: () => { ended = true; attachment.then((id) => { if (id !== null) call(commands.terminalDetach(id)); }); },
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
    await call(commands.quit());
  });
}
