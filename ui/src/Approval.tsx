// Allow / Deny for the tool an agent asks to run (its permission hook waits for the answer;
// its own prompt in the terminal answers too).

import { useEffect, useState } from 'preact/hooks';
import type { Api } from './transport/api';
import type { Session, Usage } from './types';
import { dollars, tokens } from './labels';

export function Approval({ api, session, onError, compact = false }: {
  api: Api; session: Session; onError(e: unknown): void; compact?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const asked = session.activity === 'waiting_permission' ? session.permission : null;
  if (!asked?.actionId) return null;
  const decide = (decision: 'allow' | 'deny') => {
    setBusy(true);
    api.decideAction(session.id, asked.actionId!, decision).catch(onError).finally(() => setBusy(false));
  };
  return (
    <span class="approval" data-approval={session.id} onClick={(e) => e.stopPropagation()}>
      {!compact && <span class="approval-ask" title={asked.summary}><b>{asked.tool}</b> {asked.summary}</span>}
      <button class="small primary" data-decision="allow" disabled={busy} onClick={() => decide('allow')}
        title={`Allow ${asked.tool}: ${asked.summary}`}>Allow</button>
      <button class="small danger" data-decision="deny" disabled={busy} onClick={() => decide('deny')}
        title={`Deny ${asked.tool}`}>Deny</button>
    </span>
  );
}

/** Tokens and cost, loaded by `load` again whenever `version` changes. Nothing until used. */
export function UsageLine({ load, version }: { load(): Promise<Usage>; version: unknown }) {
  const [usage, setUsage] = useState<Usage | null>(null);
  useEffect(() => {
    let live = true;
    load().then((u) => { if (live) setUsage(u); }).catch(() => { if (live) setUsage(null); });
    return () => { live = false; };
  }, [version]);
  if (!usage || usage.models.length === 0) return null;
  const title = usage.models
    .map((m) => `${m.model}: ${m.inputTokens} in, ${m.outputTokens} out, ${m.cacheReadTokens} cache read, ${m.cacheWriteTokens} cache write`)
    .join('\n');
  return (
    <span class="usage" data-usage title={title}>
      {tokens(usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens)} in · {tokens(usage.outputTokens)} out · {dollars(usage.costUsd)}
      {usage.unpriced.length > 0 && <span class="muted"> (+ unpriced {usage.unpriced.join(', ')})</span>}
    </span>
  );
}
