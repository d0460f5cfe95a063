// End-to-end: the real `baton serve` and its web UI in Debian's Chromium, driven by playwright-core.
// It creates a project and a task, runs the scripted agent from the task, sees its coloured output
// in the xterm, types a line and sees the answer, sees the waiting badge, drags the task to
// completed, reloads and finds everything as it was, and stops the session.
// Screenshots go to target/e2e-screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(new URL('../..', import.meta.url).pathname);
const require = createRequire(join(root, 'ui', 'package.json'));
const { chromium } = require('playwright-core');

const BATON = process.env.BATON_BIN ?? join(root, 'target', 'debug', 'baton');
const AGENT = process.env.BATON_TEST_AGENT ?? join(root, 'target', 'debug', 'baton-test-agent');
const SHOTS = join(root, 'target', 'e2e-screenshots');
const DEADLINE = 20_000;

let server, url, token, browser, page, folder, data, firstSession;

async function api(method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Waits (with a deadline) until `check()` returns something truthy. */
async function until(check, what) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > DEADLINE) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The text in a session's xterm (its whole buffer). */
function screen(sessionId) {
  return page.evaluate((id) => {
    const host = document.querySelector(`.pane[data-session="${id}"] .xterm-host`);
    const term = host && host.__xterm;
    if (!term) return '';
    const buf = term.buffer.active;
    const lines = [];
    for (let y = 0; y < buf.length; y++) lines.push(buf.getLine(y).translateToString(true));
    return lines.join('\n');
  }, sessionId);
}

async function startServer(port) {
  server = spawn(BATON, ['serve', '--port', port, '--data-dir', data], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  const line = await new Promise((ok, fail) => {
    createInterface({ input: server.stdout }).once('line', ok);
    server.once('exit', (code) => fail(new Error(`baton serve exited with ${code}`)));
  });
  return line.replace('listening on ', '');
}

const count = (text, needle) => text.split(needle).length - 1;

before(async () => {
  data = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  folder = mkdtempSync(join(tmpdir(), 'baton-e2e-project-'));
  mkdirSync(SHOTS, { recursive: true });
  url = await startServer('0');
  token = (await import('node:fs')).readFileSync(join(data, 'token'), 'utf8').trim();
  // The scripted agent of the PTY tests, as a profile the UI offers.
  const r = await api('POST', '/api/agents', { id: 'scripted', name: 'Scripted agent', program: AGENT, quietMs: 600, promptMode: 'type', waitPattern: 'agent> $' });
  assert.equal(r.status, 201);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Record the notifications the page shows (the browser's own API, standing in for the desktop's).
  await page.addInitScript(() => {
    window.__notifications = [];
    window.Notification = class {
      static permission = 'granted';
      static requestPermission() { return Promise.resolve('granted'); }
      constructor(title, options) { window.__notifications.push({ title, body: options?.body }); }
    };
  });
  page.on('pageerror', (e) => console.error('page error:', e));
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('a person runs an agent on a task from the browser', async () => {
  await page.goto(`${url}/#token=${token}`);
  // The token is wiped from the address bar at once.
  await until(async () => !(await page.evaluate(() => location.href)).includes('token'), 'the token to leave the URL');

  // Create a project with a folder.
  await page.getByRole('button', { name: 'Create a project' }).click();
  await page.fill('input[name=name]', 'Web shop');
  await page.fill('input[name=basePath]', folder);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const project = await until(async () => (await api('GET', '/api/projects')).body[0], 'the project');
  assert.equal(project.name, 'Web shop');
  assert.equal(project.basePath, folder);

  // Create a task with the keyboard (N).
  await page.locator('body').press('n');
  await page.fill('input[name=title]', 'Fix the checkout');
  await page.fill('textarea[name=prompt]', 'make checkout work');
  await page.fill('input[name=tags]', 'shop, urgent');
  await page.getByRole('button', { name: 'Create task' }).click();
  const task = await until(async () => (await api('GET', `/api/tasks?projectId=${project.id}`)).body[0], 'the task');
  assert.equal(task.title, 'Fix the checkout');
  assert.deepEqual(task.tags, ['shop', 'urgent']);
  await page.locator(`[data-task="${task.id}"]`).waitFor();
  await page.screenshot({ path: join(SHOTS, 'board.png') });

  // Run it with the scripted agent.
  await page.locator(`[data-task="${task.id}"]`).click();
  await page.getByRole('button', { name: /Run with/ }).click();
  await page.locator('button[data-agent=scripted]').click();
  const session = await until(async () => (await api('GET', `/api/sessions?taskId=${task.id}`)).body[0], 'the session');
  firstSession = session.id;
  await until(async () => (await screen(session.id)).includes('scripted agent ready'), 'the agent banner in the xterm');

  // Its colours reach the terminal: "scripted" is bold green (palette colour 2).
  const colour = await page.evaluate((id) => {
    const term = document.querySelector(`.pane[data-session="${id}"] .xterm-host`).__xterm;
    const buf = term.buffer.active;
    for (let y = 0; y < buf.length; y++) {
      const line = buf.getLine(y);
      const x = line.translateToString(true).indexOf('scripted agent ready');
      if (x >= 0) { const cell = line.getCell(x); return { fg: cell.getFgColor(), palette: cell.isFgPalette(), bold: cell.isBold() }; }
    }
    return null;
  }, session.id);
  assert.deepEqual(colour, { fg: 2, palette: 1 ? colour.palette : 0, bold: colour.bold });
  assert.ok(colour.palette && colour.bold, JSON.stringify(colour));

  // The prompt was typed in for it once it waited; now type a line ourselves.
  await until(async () => (await screen(session.id)).includes('you said: make checkout work'), 'the typed prompt');
  await page.locator(`.pane[data-session="${session.id}"] .xterm-host`).click();
  await page.keyboard.type('hello from the browser');
  await page.keyboard.press('Enter');
  await until(async () => (await screen(session.id)).includes('you said: hello from the browser'), 'the answer');

  // The agent reports progress with its own token; the sidebar shows it.
  await page.keyboard.type(`call POST /api/sessions/${session.id}/report {"text":"checking the cart","progress":40}`);
  await page.keyboard.press('Enter');
  await until(async () => (await screen(session.id)).includes('status 201'), 'the report to be accepted');
  await page.locator(`.session-item[data-session="${session.id}"] .report`, { hasText: '40% · checking the cart' })
    .waitFor({ timeout: DEADLINE });

  // It waits for input: the badge says so, in the sidebar and on the card.
  await page.locator(`.session-item.waiting[data-session="${session.id}"]`).waitFor({ timeout: DEADLINE });
  assert.match(await page.title(), /^\(1\) Baton$/);
  await page.getByRole('button', { name: 'Board' }).click();
  await page.locator(`[data-task="${task.id}"] .badge.waiting`).waitFor({ timeout: DEADLINE });

  // Drag the card to Completed.
  await page.locator(`[data-task="${task.id}"]`).dragTo(page.locator('section.column[data-status=completed]'));
  await until(async () => (await api('GET', `/api/tasks/${task.id}`)).body.status === 'completed', 'the task to be completed');
  await page.locator(`section.column[data-status=completed] [data-task="${task.id}"]`).waitFor();

  // Reload: everything as it was.
  await page.reload();
  await page.locator(`section.column[data-status=completed] [data-task="${task.id}"]`).waitFor({ timeout: DEADLINE });
  await page.locator(`.session-item[data-session="${session.id}"]`).waitFor();
  assert.equal(await page.locator('.project-select').inputValue(), project.id);

  // Four agents side by side, for the picture.
  for (let i = 0; i < 3; i++) {
    await api('POST', '/api/sessions', { projectId: project.id, agentId: 'scripted', name: `helper ${i + 1}` });
  }
  // Agents nobody is looking at announce that they wait.
  for (let i = 0; i < 3; i++) {
    await until(async () => (await page.evaluate(() => window.__notifications.map((n) => n.title)))
      .includes(`helper ${i + 1} is waiting`), `a notification for helper ${i + 1}`);
  }
  await page.locator(`.session-item[data-session="${session.id}"]`).click();
  const items = page.locator('.session-item');
  await until(async () => (await items.count()) === 4, 'four sessions');
  // By id: the list re-sorts itself (waiting sessions first) while we click.
  for (const s of (await api('GET', `/api/sessions?projectId=${project.id}`)).body) {
    await until(async () => {
      if (await page.evaluate((id) => window.__baton.state.tabs.includes(id), s.id)) return true;
      await page.locator(`.session-item[data-session="${s.id}"]`).click();
      return false;
    }, `a tab for ${s.name}`);
  }
  await page.locator('.toolbar button[title="4 pane(s)"]').click();
  await until(async () => (await page.locator('.pane').count()) === 4, 'four panes').catch(async (e) => {
    const st = await page.evaluate(() => { const s = window.__baton.state; return { tabs: s.tabs.length, layout: s.layout, view: s.view, active: s.activeTab, panes: document.querySelectorAll('.pane').length, grid: document.querySelector('.grid')?.className }; });
    await page.screenshot({ path: join(SHOTS, 'failure.png') });
    throw new Error(`${e.message}: ${JSON.stringify(st)}`);
  });
  await until(async () => (await screen(session.id)).includes('hello from the browser'), 'the first pane to replay');
  await page.screenshot({ path: join(SHOTS, 'terminals-4.png') });

  // Stop the session from its pane.
  await page.locator(`.pane[data-session="${session.id}"] button:has-text("Stop")`).click();
  await until(async () => (await api('GET', `/api/sessions/${session.id}`)).body.status === 'stopped', 'the session to stop');
  await until(async () => (await screen(session.id)).includes('[process exited by SIGHUP]'), 'the exit in the terminal');
  await page.locator(`.pane[data-session="${session.id}"] button:has-text("Restart")`).waitFor();
});

test('the UI says it is reconnecting, then picks up where it was without repeating output', async () => {
  const before = count(await screen(firstSession), 'hello from the browser');
  assert.equal(before, 2, 'the typed line and its answer');
  const port = new URL(url).port;
  const helpers = (await api('GET', '/api/sessions')).body.filter((s) => s.id !== firstSession);
  const exited = new Promise((ok) => server.once('exit', ok));
  server.kill('SIGTERM');
  await exited;
  await page.locator('.linkbar').waitFor({ timeout: DEADLINE });
  assert.match(await page.locator('.linkbar').textContent(), /reconnecting/);
  assert.equal(await startServer(port), url);
  await page.locator('.linkbar').waitFor({ state: 'detached', timeout: DEADLINE });
  // The shutdown stopped the helpers; the reloaded UI shows it.
  for (const h of helpers) {
    await page.locator(`.session-item.stopped[data-session="${h.id}"]`).waitFor({ timeout: DEADLINE });
  }
  // Each pane resumed from its last byte: nothing shown twice.
  await until(async () => (await screen(helpers[0].id)).includes('[process exited by SIGHUP]'), 'a helper pane to show its end');
  assert.equal(count(await screen(firstSession), 'hello from the browser'), before);
  assert.equal(count(await screen(helpers[0].id), 'scripted agent ready'), 1);
});

test('settings: a profile is edited and the token regenerated while the UI keeps working', async () => {
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.locator('tr[data-agent=scripted] button:has-text("Edit")').click();
  const nameInput = page.locator('.settings form input').first();
  await nameInput.fill('Scripted (edited)');
  await page.getByRole('button', { name: 'Save' }).click();
  await until(async () => (await api('GET', '/api/agents/scripted')).body.name === 'Scripted (edited)', 'the profile to change');

  const old = token;
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByText('A new token is in force.').waitFor({ timeout: DEADLINE });
  token = (await import('node:fs')).readFileSync(join(data, 'token'), 'utf8').trim();
  assert.notEqual(token, old);
  const refused = await fetch(url + '/api/projects', { headers: { Authorization: `Bearer ${old}` } });
  assert.equal(refused.status, 401, 'the old token is refused');
  await page.keyboard.press('Escape');

  // The page switched to the new token: posting a message still works.
  await page.locator('.sidebar .feed input').fill('still here after the new token');
  await page.locator('.sidebar .feed input').press('Enter');
  await until(async () => (await api('GET', `/api/messages?projectId=${(await api('GET', '/api/projects')).body[0].id}`)).body
    .some((m) => m.body === 'still here after the new token'), 'the message');
});
