// One live xterm bound to one session: replay, then live output; keystrokes and resizes go back.
// Loaded only when a terminal is first shown (the board does not need xterm).
// If the stream drops (server restart, a slow link) it reconnects from the last byte it showed,
// so nothing is lost and nothing is shown twice.

import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal as XTerm } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import '@xterm/xterm/css/xterm.css';
import type { Api, TerminalConnection } from './transport/api';
import type { Session } from './types';
import { silenceQueries } from './queries';
import { keyLabel, shortcut } from './keys';
import { dotClass, statusLabel } from './labels';
import { Approval } from './Approval';

const THEME = {
  background: '#0f1115', foreground: '#d8dee9', cursor: '#e5c07b', selectionBackground: '#3b4252',
  black: '#1d2021', red: '#e06c75', green: '#98c379', yellow: '#e5c07b', blue: '#61afef',
  magenta: '#c678dd', cyan: '#56b6c2', white: '#d8dee9',
};

const OPTIONS = {
  fontFamily: 'DejaVu Sans Mono, Menlo, Consolas, monospace', fontSize: 13, theme: THEME,
  scrollback: 10000, allowProposedApi: true, cursorBlink: true,
};
const SCROLLBAR = 14; // what FitAddon leaves for the scrollbar
let measurer: XTerm | null = null;

/** The size of one character cell, measured by a hidden terminal with the panes' font. */
function cellSize(): { width: number; height: number } | null {
  if (!measurer) {
    const box = document.createElement('div');
    box.style.cssText = 'position:absolute;left:-10000px;top:0;width:400px;height:200px;visibility:hidden';
    document.body.appendChild(box);
    measurer = new XTerm(OPTIONS);
    measurer.open(box);
    // The same renderer as the panes: cell sizes differ between renderers.
    loadRenderer(measurer);
  }
  const cell = (measurer as any)._core?._renderService?.dimensions?.css?.cell;
  return cell && cell.width > 0 && cell.height > 0 ? cell : null;
}

/** The terminal size a pane whose terminal area is `host` shows, computed as FitAddon does. */
export function paneSize(host: HTMLElement): { cols: number; rows: number } | null {
  const cell = cellSize();
  if (!cell) return null;
  const style = window.getComputedStyle(host);
  const height = parseInt(style.getPropertyValue('height'));
  const width = Math.max(0, parseInt(style.getPropertyValue('width')));
  if (!height || !width) return null;
  return {
    cols: Math.max(2, Math.floor((width - SCROLLBAR) / cell.width)),
    rows: Math.max(1, Math.floor(height / cell.height)),
  };
}

let realGpu: boolean | null = null;

/** WebGL only where the GPU is real: a software renderer (SwiftShader, llvmpipe) gains nothing. */
function gpuIsReal(): boolean {
  if (realGpu !== null) return realGpu;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    realGpu = !!gl && !/swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch { realGpu = false; }
  return realGpu;
}

function loadRenderer(term: XTerm) {
  if (!gpuIsReal()) return;
  try { term.loadAddon(new WebglAddon()); } catch { /* the DOM renderer it is */ }
}

export function TerminalPane({ api, session, focused, focusSeq, onFocus, onStop, onRestart, onClose }: {
  api: Api; session: Session; focused: boolean; focusSeq: number; onFocus(): void; onStop(): void; onRestart(): void; onClose(): void;
}) {
  const [confirmStop, setConfirmStop] = useState(false);
  useEffect(() => {
    if (!confirmStop) return;
    const t = setTimeout(() => setConfirmStop(false), 4000);
    return () => clearTimeout(t);
  }, [confirmStop]);
  const host = useRef<HTMLDivElement>(null);
  const termRef = useRef<XTerm | null>(null);
  const searchRef = useRef<SearchAddon | null>(null);
  const [searching, setSearching] = useState(false);
  const [query, setQuery] = useState('');

  useEffect(() => {
    const term = new XTerm(OPTIONS);
    const fit = new FitAddon();
    const search = new SearchAddon();
    term.loadAddon(fit);
    term.loadAddon(search);
    term.loadAddon(new WebLinksAddon());
    term.open(host.current!);
    // Queries are answered by the server, once: this terminal never answers them (replays!).
    silenceQueries(term);
    try { fit.fit(); } catch { /* not laid out yet */ }
    loadRenderer(term);
    termRef.current = term;
    searchRef.current = search;
    (host.current as any).__xterm = term; // for tests and debugging

    let next: number | null = null; // the offset after the last byte shown
    let conn: TerminalConnection | null = null;
    let alive = true;
    let retry = 250;
    const connect = () => {
      conn = api.terminal(session.id, next, {
        onReplay: (offset) => { if (next === null) next = offset; retry = 250; },
        // The current screen, drawn on a reset terminal; output continues from `offset`.
        onScreen: (offset, data) => { term.reset(); term.write(data); next = offset; retry = 250; },
        onData: (bytes) => { term.write(bytes); next = (next ?? 0) + bytes.length; },
        onExit: (code, signal) => {
          term.write(`\r\n\x1b[2m[process exited${signal ? ` by ${signal}` : ` with code ${code}`}]\x1b[0m\r\n`);
        },
        onDrop: () => {
          if (alive) setTimeout(connect, retry);
          retry = Math.min(retry * 2, 4000);
        },
      });
      // Every viewer tells its size as soon as it is connected (sent when the socket opens).
      conn.resize(term.cols, term.rows);
    };
    connect();
    const input = term.onData((d) => conn?.write(d));
    const resized = term.onResize(({ cols, rows }) => conn?.resize(cols, rows));
    const observer = new ResizeObserver(() => { try { fit.fit(); } catch { /* not laid out yet */ } });
    observer.observe(host.current!);
    // App shortcuts (Ctrl+Shift+…, Cmd+…) are the app's: xterm never sees them, the window's
    // handler acts on them. Every other key, Ctrl+letters included, goes to the agent.
    term.attachCustomKeyEventHandler((e) => {
      const action = shortcut(e);
      if (action === 'search') { e.preventDefault(); setSearching(true); }
      return action === null;
    });
    return () => { alive = false; observer.disconnect(); input.dispose(); resized.dispose(); conn?.close(); term.dispose(); };
  }, [session.id, session.startedAt]);

  useEffect(() => { if (focused) termRef.current?.focus(); }, [focused, focusSeq]);

  const running = ['running', 'waiting', 'starting'].includes(session.status);
  return (
    <div class={`pane ${focused ? 'focused' : ''}`} onMouseDown={onFocus} data-session={session.id}>
      <div class="pane-head">
        <span class={`dot ${dotClass(session)}`} title={statusLabel(session)} />
        <span class="pane-name" title={session.name}>{session.name}</span>
        <span class="muted pane-status">{statusLabel(session)}</span>
        <Approval api={api} session={session} compact onError={(e) => console.warn('decision failed', e)} />
        {running && !confirmStop && <button class="small" onClick={() => setConfirmStop(true)}>Stop</button>}
        {running && confirmStop && <>
          <button class="small danger" onClick={() => { setConfirmStop(false); onStop(); }}>Stop the agent?</button>
          <button class="small ghost" onClick={() => setConfirmStop(false)}>Keep</button>
        </>}
        {!running && <button class="small" onClick={onRestart} disabled={!session.command.length}>Restart</button>}
        <span class="spacer" />
        {searching && (
          <input class="search" autoFocus placeholder="Search…" value={query}
            onInput={(e) => { const v = (e.target as HTMLInputElement).value; setQuery(v); searchRef.current?.findNext(v); }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') searchRef.current?.findNext(query);
              if (e.key === 'Escape') { setSearching(false); termRef.current?.focus(); }
            }} />
        )}
        <button class="small ghost" title={`Close the pane; the session keeps running (${keyLabel('close-pane')})`} onClick={onClose}>✕</button>
      </div>
      <div class="xterm-host" ref={host} />
    </div>
  );
}
