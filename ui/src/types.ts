// The shapes of the Baton API: generated from the OpenAPI document the server serves
// (ui/openapi.json, kept current by a test of the Rust crate; `npm run contract` regenerates
// src/generated/api.ts from it, and the test command fails when either is stale).

import type { components } from './generated/api';

type Schemas = components['schemas'];

export type TaskStatus = Schemas['TaskStatus'];
export type Priority = Schemas['Priority'];
export type SessionStatus = Schemas['SessionStatus'];
export type Project = Schemas['Project'];
export type Subtask = Schemas['Subtask'];
export type Task = Schemas['Task'];
export type Session = Schemas['Session'];
export type AgentProfile = Schemas['AgentProfile'];
export type Message = Schemas['Message'];
export type HistoryEntry = Schemas['HistoryEntry'];
export type ErrorBody = Schemas['ErrorBody'];
export type Run = Schemas['Run'];
export type Execution = Schemas['Execution'];
export type Executed = Schemas['Executed'];
export type ExecuteTask = Schemas['ExecuteTask'];
export type QueueStatus = Schemas['QueueStatus'];
export type BulkRequest = Schemas['BulkRequest'];
export type BulkResult = Schemas['BulkResult'];
export type Workspace = Schemas['Workspace'];
export type TaskDiff = Schemas['TaskDiff'];
export type DiffFile = Schemas['DiffFile'];
export type TaskConflict = Schemas['TaskConflict'];
export type Merged = Schemas['Merged'];
export type Archive = Schemas['Archive'];
export type ReviewComment = Schemas['ReviewComment'];
export type ReviewSent = Schemas['ReviewSent'];
export type SessionAction = Schemas['SessionAction'];
export type Usage = Schemas['Usage'];
export type PriceTable = Schemas['PriceTable'];
export type ModelPrice = Schemas['ModelPrice'];
/** An event of `/ws` (and the desktop's event channel): a union on `event`. */
export type BusEvent = Schemas['Event'];

export const ACTIVE: SessionStatus[] = ['starting', 'running', 'waiting'];
export const isActive = (s: Session) => ACTIVE.includes(s.status);
