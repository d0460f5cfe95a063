// How a session's state is named, the same everywhere (sidebar, cards, panes, details).

import type { Session } from './types';

export function statusLabel(s: Session): string {
  if (s.limitedUntil) {
    const at = new Date(s.limitedUntil).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return `limited until ${at}`;
  }
  switch (s.status) {
    case 'starting': return 'starting';
    case 'running': return s.activity === 'idle' ? 'idle (turn ended)' : 'working';
    case 'waiting':
      return s.activity === 'waiting_permission' && s.permission ? `asks to run ${s.permission.tool}` : 'waiting for you';
    case 'completed': return 'done';
    case 'failed': return s.signal ? `failed (${s.signal})` : `failed (code ${s.exitCode ?? '?'})`;
    default: return s.status;
  }
}

/** The status dot's class: working (animated), waiting (amber), done, failed, stopped. */
export function dotClass(s: Session): string {
  if (s.status === 'waiting') return 'waiting';
  if (s.status === 'running' || s.status === 'starting') return 'working';
  return s.status;
}

/** A short duration since `ms`: `12s`, `4m`, `2h`. */
export function ago(ms: number | null | undefined): string {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** Tokens in a short form: `950`, `12.3k`, `4.1M`. */
export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A cost in dollars: `$0.012`, `$3.40`. */
export function dollars(n: number): string {
  return n < 1 ? `$${n.toFixed(3)}` : `$${n.toFixed(2)}`;
}
