// The app's keyboard shortcuts. Inside a terminal, the keys terminals use (Ctrl+A…Z, Alt+…)
// belong to the agent: app shortcuts use combinations terminals do not — Ctrl+Shift+… on Linux
// and Windows, Cmd+… on macOS — and are taken before xterm sees them. One table, so the palette,
// the help and the handlers say the same thing.

export const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export type Action =
  | 'palette' | 'next-waiting' | 'split-2' | 'split-4' | 'close-pane' | 'search'
  | `session-${number}`;

interface Binding { action: Action; key: string; label: string }

/** Keys pressed with the app modifier (Ctrl+Shift, or Cmd on macOS), by `KeyboardEvent.code`. */
const BINDINGS: Binding[] = [
  { action: 'palette', key: 'KeyK', label: 'Command palette' },
  { action: 'next-waiting', key: 'KeyJ', label: 'Next agent waiting for you' },
  { action: 'split-2', key: 'KeyD', label: 'Two terminal panes' },
  { action: 'split-4', key: 'KeyE', label: 'Four terminal panes' },
  // Not W: Ctrl+Shift+W and Cmd+W close the browser's window or tab, and a page cannot stop them.
  { action: 'close-pane', key: 'KeyX', label: 'Close the pane (the session keeps running)' },
  { action: 'search', key: 'KeyF', label: 'Search in the terminal' },
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ action: `session-${n}` as Action, key: `Digit${n}`, label: `Session ${n} in the sidebar` })),
];

const SHIFTED = ['KeyD', 'KeyE', 'KeyX'];

/** Whether `e` carries the app modifier: Cmd on macOS; Ctrl+Shift elsewhere. */
function appModifier(e: KeyboardEvent): boolean {
  return MAC ? e.metaKey && !e.ctrlKey : e.ctrlKey && e.shiftKey && !e.metaKey && !e.altKey;
}

/** The app action `e` asks for, or null when the key is not the app's. */
export function shortcut(e: KeyboardEvent): Action | null {
  if (e.type !== 'keydown' || !appModifier(e)) return null;
  // On macOS these take Shift too (Cmd+D, Cmd+E and Cmd+X stay the system's).
  if (MAC && SHIFTED.includes(e.code) && !e.shiftKey) return null;
  return BINDINGS.find((b) => b.key === e.code)?.action ?? null;
}

/** How to write the keys of `action` on this platform (`Ctrl+Shift+K`, `⌘K`). */
export function keyLabel(action: Action): string {
  const b = BINDINGS.find((x) => x.action === action);
  if (!b) return '';
  const key = b.key.replace(/^Key|^Digit/, '');
  if (MAC) return `⌘${SHIFTED.includes(b.key) ? '⇧' : ''}${key}`;
  return `Ctrl+Shift+${key}`;
}

/** Every shortcut, for the keyboard help. Single keys work outside text fields and terminals. */
export function helpRows(): { keys: string; label: string }[] {
  return [
    ...BINDINGS.filter((b) => !b.action.startsWith('session-')).map((b) => ({ keys: keyLabel(b.action), label: b.label })),
    { keys: MAC ? '⌘1 … ⌘9' : 'Ctrl+Shift+1 … 9', label: 'Session 1…9 in the sidebar' },
    { keys: 'N', label: 'New task (on the board)' },
    { keys: 'R', label: 'Run the selected task with an agent' },
    { keys: '?', label: 'This help' },
    { keys: 'Esc', label: 'Close a dialog' },
  ];
}
