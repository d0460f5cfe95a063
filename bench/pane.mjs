// Benchmark: showing the pane of a session that has printed BENCH_PANE_MB MiB (default 100) in
// the real web UI in headless Chromium, until its last line is on screen — Baton's way (the server
// sends the current screen from its screen model) against the way before it, measured in the same
// run and the same page: replaying the 4 MiB in-memory tail into an xterm.
//
//   cargo build -p baton --bins && (cd ui && npm run build) && node bench/pane.mjs
//
// BATON_BIN picks the server binary (default target/release/baton when built, else debug);
// BENCH_ROUNDS the rounds (default 5). Prints medians and the ratio.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(new URL('..', import.meta.url).pathname);
const require = createRequire(join(root, 'ui', 'package.json'));
const { chromium } = require('playwright-core');
const release = join(root, 'target', 'release', 'baton');
const BATON = process.env.BATON_BIN ?? (existsSync(release) ? release : join(root, 'target', 'debug', 'baton'));
const AGENT = join(root, 'target', 'debug', 'baton-test-agent');
const MB = Number(process.env.BENCH_PANE_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TAIL = 4 * 1024 * 1024;

const data = mkdtempSync(join(tmpdir(), 'baton-bench-pane-'));
const server = spawn(BATON, ['serve', '--port', '0', '--data-dir', data, '--ui-dir', join(root, 'ui', 'dist')],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'error' } });
const url = (await new Promise((ok) => createInterface({ input: server.stdout }).once('line', ok))).replace('listening on ', '');
const token = readFileSync(join(data, 'token'), 'utf8').trim();
const api = async (method, path, body) => {
  const r = await fetch(url + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
  return { headers: r.headers, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
};

try {
  const project = (await api('POST', '/api/projects', { name: 'bench' })).body;
  // The generator prints its MiB, then the session stays alive (a running agent).
  const bytes = MB * 1024 * 1024;
  const session = (await api('POST', '/api/sessions', {
    projectId: project.id, name: 'printed a lot', cols: 120, rows: 32,
    command: ['sh', '-c', '"$0" --generate "$1"; printf "\\r\\nTHE END\\r\\n"; exec sleep 100000', AGENT, String(bytes)],
  })).body;
  for (;;) {
    const r = await api('GET', `/api/sessions/${session.id}/output?offset=${bytes}`);
    if (r.body.includes('THE END')) break;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  const end = Number((await api('GET', `/api/sessions/${session.id}/output?offset=0&limit=1`)).headers.get('x-output-end'));

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${url}/#token=${token}`);
  await page.waitForFunction(() => window.__baton?.state.link === 'connected');
  await page.waitForFunction((id) => !!window.__baton.state.sessions[id], session.id);

  // Baton: open the pane, until "THE END" is on its screen.
  const screenPath = () => page.evaluate(async (id) => {
    const store = window.__baton;
    store.closeTab(id);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const t0 = performance.now();
    store.openTerminal(id);
    for (;;) {
      await new Promise((r) => requestAnimationFrame(r));
      const term = document.querySelector(`.pane[data-session="${id}"] .xterm-host`)?.__xterm;
      if (!term) continue;
      const buf = term.buffer.active;
      for (let y = Math.max(0, buf.length - term.rows); y < buf.length; y++) {
        if (buf.getLine(y)?.translateToString(true).includes('THE END')) return performance.now() - t0;
      }
    }
  }, session.id);

  // Before: the 4 MiB tail replayed into a fresh xterm of the same size, until parsed (what a
  // pane did before the screen model; fetched here from /output, as the WebSocket now sends the
  // screen to a viewer that far behind).
  const replayPath = () => page.evaluate(async ({ id, from, token }) => {
    const host = document.createElement('div');
    host.style.cssText = 'position:absolute;left:0;top:0;width:900px;height:600px';
    document.body.appendChild(host);
    const Term = document.querySelector('.pane .xterm-host').__xterm.constructor;
    const term = new Term({ cols: 120, rows: 32, scrollback: 10000 });
    term.open(host);
    const t0 = performance.now();
    const res = await fetch(`/api/sessions/${id}/output?offset=${from}`, { headers: { Authorization: `Bearer ${token}` } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    for (let at = 0; at < bytes.length; at += 65536) term.write(bytes.subarray(at, at + 65536));
    await new Promise((done) => term.write('', done));
    const ms = performance.now() - t0;
    term.dispose();
    host.remove();
    return ms;
  }, { id: session.id, from: Math.max(0, end - TAIL), token });

  const screen = [];
  const replay = [];
  await screenPath(); // warm-up: fonts, WebGL
  for (let i = 0; i < ROUNDS; i++) {
    screen.push(await screenPath());
    replay.push(await replayPath());
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`pane (a session that printed ${MB} MiB, ${ROUNDS} rounds, medians; headless Chromium)`);
  console.log(`  replay of the 4 MiB tail (before): ${median(replay).toFixed(0)} ms`);
  console.log(`  the server's screen (now)        : ${median(screen).toFixed(0)} ms`);
  console.log(`  ratio                            : ${(median(replay) / median(screen)).toFixed(1)}x faster`);
  await browser.close();
} finally {
  server.kill('SIGTERM');
}
