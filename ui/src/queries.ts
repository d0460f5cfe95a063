// Terminal queries are the server's to answer. A program that asks its terminal something
// (device attributes `ESC[c`, the cursor position `ESC[6n`, colours `OSC 10/11`, modes, sizes)
// gets exactly one answer, from Baton's screen model on the server (src/pty/screen/queries.rs),
// whatever the number of viewers. xterm.js would answer too — again on every replay, and once
// per viewer — and its answers would reach the agent as keystrokes. These handlers swallow the
// queries before xterm.js sees them; everything else (setting colours, titles…) passes through.

import type { IDisposable, Terminal } from '@xterm/xterm';

const first = (params: (number | number[])[]) => {
  const p = params[0];
  return (Array.isArray(p) ? p[0] : p) ?? 0;
};
const isQuery = (data: string) => data.split(';').some((part) => part === '?');

export function silenceQueries(term: Terminal): IDisposable {
  const p = term.parser;
  const handlers: IDisposable[] = [
    p.registerCsiHandler({ final: 'c' }, () => true), // DA1
    p.registerCsiHandler({ prefix: '>', final: 'c' }, () => true), // DA2
    p.registerCsiHandler({ prefix: '=', final: 'c' }, () => true), // DA3
    p.registerCsiHandler({ final: 'n' }, () => true), // DSR: status, cursor position
    p.registerCsiHandler({ prefix: '?', final: 'n' }, () => true), // DECDSR
    p.registerCsiHandler({ intermediates: '$', final: 'p' }, () => true), // DECRQM
    p.registerCsiHandler({ prefix: '?', intermediates: '$', final: 'p' }, () => true),
    p.registerCsiHandler({ prefix: '>', final: 'q' }, () => true), // XTVERSION
    p.registerCsiHandler({ prefix: '?', final: 'u' }, () => true), // kitty keyboard query
    // Window reports (sizes); other window operations go on to xterm.js.
    p.registerCsiHandler({ final: 't' }, (params) => [11, 13, 14, 15, 16, 18, 19, 20, 21].includes(first(params))),
    p.registerDcsHandler({ intermediates: '$', final: 'q' }, () => true), // DECRQSS
    p.registerDcsHandler({ intermediates: '+', final: 'q' }, () => true), // XTGETTCAP
    ...[4, 10, 11, 12, 17, 19].map((code) => p.registerOscHandler(code, isQuery)),
  ];
  return { dispose: () => handlers.forEach((h) => h.dispose()) };
}
