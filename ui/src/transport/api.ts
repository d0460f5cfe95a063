// One transport interface; two implementations: HTTP + WebSocket (browser, `baton serve`) and
// Tauri commands + events + channels (the desktop window). Nothing else in the UI knows which.

import type {
  AgentProfile, BulkRequest, BulkResult, BusEvent, ExecuteTask, Executed, HistoryEntry, Message, Project,
  QueueStatus, Run, Session, Subtask, Task, Workspace, TaskDiff, TaskConflict, Merged, Archive,
  ReviewComment, ReviewSent, Usage, PriceTable, ModelPrice,
} from '../types';

export interface TerminalHandlers {
  onReplay(offset: number): void;
  /** Reset the terminal and draw `data` (the screen now); the output that follows starts at `offset`. */
  onScreen(offset: number, data: string): void;
  onData(bytes: Uint8Array): void;
  onExit(code: number | null, signal: string | null): void;
  /** The stream broke (not a normal end): the caller reconnects from its offset. */
  onDrop(): void;
}

export interface TerminalConnection {
  write(data: string | Uint8Array): void;
  /** Tells the size; before the connection is open, it is sent as soon as it is. */
  resize(cols: number, rows: number): void;
  close(): void;
}

export type LinkState = 'connected' | 'reconnecting';

export interface Api {
  listProjects(): Promise<Project[]>;
  createProject(body: { name: string; basePath?: string }): Promise<Project>;
  listTasks(projectId: string): Promise<Task[]>;
  createTask(body: Partial<Task> & { projectId: string; title: string }): Promise<Task>;
  updateTask(id: string, patch: Partial<Task>): Promise<Task>;
  deleteTask(id: string): Promise<void>;
  addSubtask(taskId: string, title: string): Promise<Subtask>;
  updateSubtask(taskId: string, subtaskId: string, patch: Partial<Subtask>): Promise<Subtask>;
  setDependencies(taskId: string, dependsOn: string[]): Promise<Task>;
  taskHistory(taskId: string): Promise<HistoryEntry[]>;
  listSessions(projectId: string): Promise<Session[]>;
  startSession(body: { projectId: string; taskIds?: string[]; agentId?: string; command?: string[]; name?: string; cols?: number; rows?: number }): Promise<Session>;
  stopSession(id: string): Promise<Session>;
  restartSession(id: string): Promise<Session>;
  /** Continues a stopped session's conversation (`claude --resume`). */
  resumeSession(id: string): Promise<Session>;
  /** Allows or denies the tool a session's agent asks to run. */
  decideAction(sessionId: string, actionId: string, decision: 'allow' | 'deny', reason?: string): Promise<void>;
  sessionUsage(id: string): Promise<Usage>;
  taskUsage(id: string): Promise<Usage>;
  projectUsage(id: string): Promise<Usage>;
  /** The price table (by model-name prefix, dollars per million tokens); set replaces it whole. */
  priceTable(): Promise<PriceTable>;
  setPrices(prices: Record<string, ModelPrice>): Promise<PriceTable>;
  resetPrices(): Promise<PriceTable>;
  /** Types `text` into a running session's terminal (quick replies). */
  sendInput(id: string, text: string): Promise<void>;
  listAgents(): Promise<AgentProfile[]>;
  createAgent(body: { name: string; program: string; args?: string[] }): Promise<AgentProfile>;
  updateAgent(id: string, patch: Partial<AgentProfile>): Promise<AgentProfile>;
  /** Replaces the admin token; this client switches to the new one. */
  regenerateToken(): Promise<string>;
  /** Desktop only: the API port for the next start (null: a free one). */
  setApiPort?(port: number | null): Promise<void>;
  listMessages(projectId: string, taskId?: string): Promise<Message[]>;
  postMessage(body: { projectId: string; taskId?: string; body: string; type?: string }): Promise<Message>;
  /** Queue the task for an agent (it starts when a slot is free and its dependencies are done). */
  executeTask(id: string, body: ExecuteTask): Promise<Executed>;
  cancelTask(id: string, reason?: string): Promise<Task>;
  retryTask(id: string): Promise<Executed>;
  resumeTask(id: string): Promise<Executed>;
  bulkTasks(body: BulkRequest): Promise<BulkResult>;
  taskRuns(id: string): Promise<Run[]>;
  /** The bytes a run wrote, as text. */
  runOutput(id: string): Promise<string>;
  /** Where a task works: its worktree and branch, or the shared folder and why. */
  taskWorkspace(id: string): Promise<Workspace>;
  taskDiff(id: string): Promise<TaskDiff>;
  taskConflicts(id: string): Promise<TaskConflict[]>;
  commitTask(id: string, message: string): Promise<Workspace>;
  mergeTask(id: string): Promise<Merged>;
  archiveTask(id: string): Promise<Archive>;
  /** Line comments to the task's agent (typed into its terminal, and a REVIEW message). */
  sendReview(id: string, comments: ReviewComment[]): Promise<ReviewSent>;
  queueStatus(): Promise<QueueStatus>;
  setQueueLimit(maxConcurrent: number): Promise<QueueStatus>;
  pauseQueue(paused: boolean): Promise<QueueStatus>;
  /** Live events; `onState` tells when the link drops and comes back. Returns a stop function. */
  events(onEvent: (e: BusEvent) => void, onState: (s: LinkState) => void): () => void;
  terminal(sessionId: string, offset: number | null, handlers: TerminalHandlers): TerminalConnection;
  /** Where the API is, for settings. */
  describe(): { url: string; token: string; savedPort?: number | null };
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public details: any) {
    super(message);
  }
}
