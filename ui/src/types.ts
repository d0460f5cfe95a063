// The shapes of the Baton API (see /api/openapi.json).

export type TaskStatus = 'pending' | 'queued' | 'in_progress' | 'blocked' | 'completed' | 'failed' | 'cancelled';
export type Priority = 'low' | 'medium' | 'high';
export type SessionStatus = 'starting' | 'running' | 'waiting' | 'completed' | 'failed' | 'stopped' | 'interrupted';

export interface Project { id: string; name: string; basePath: string | null; createdAt: number; updatedAt: number }
export interface Subtask { id: string; taskId: string; title: string; status: 'pending' | 'completed'; completedAt: number | null }
export interface Task {
  id: string; projectId: string; title: string; description: string; prompt: string;
  status: TaskStatus; priority: Priority; tags: string[]; dependsOn: string[]; subtasks: Subtask[];
  sessionIds: string[]; sessionCount: number; createdAt: number; updatedAt: number; completedAt: number | null;
}
export interface Session {
  id: string; projectId: string; taskIds: string[]; name: string; agentId: string | null; command: string[];
  status: SessionStatus; activity: 'working' | 'waiting' | null; exitCode: number | null; signal: string | null;
  startedAt: number | null; lastActivity: number | null; completedAt: number | null; createdAt: number;
  /** What the agent last reported (`baton status`, `baton progress`). */
  statusText: string | null; progress: number | null;
  /** While it waits: since when, and the last lines of its screen (what it asks). */
  waitingSince: number | null; question: string[];
}
export interface AgentProfile {
  id: string; name: string; program: string; args: string[]; promptMode: string; builtin: boolean;
  available: boolean; path: string | null; version: string | null; quietMs: number; waitPattern: string | null;
  mcp: 'none' | 'claude' | 'codex' | 'gemini';
}
export interface Message {
  id: string; projectId: string; taskId: string | null; sessionId: string | null; type: string;
  body: string; parentIds: string[]; author: string; createdAt: number;
}
export interface HistoryEntry { id: number; action: string; field: string | null; oldValue: unknown; newValue: unknown; actor: string; createdAt: number }
export interface BusEvent { event: string; data: any }

export const ACTIVE: SessionStatus[] = ['starting', 'running', 'waiting'];
export const isActive = (s: Session) => ACTIVE.includes(s.status);
