// End-to-end: the real `baton serve` and its web UI in Debian's Chromium, driven by playwright-core.
// It creates a project and a task, runs the scripted agent from the task, sees its coloured output
// in the xterm, types a line and sees the answer, sees the waiting badge, drags the task to
// completed, reloads and finds everything as it was, and stops the session.
// Screenshots go to target/e2e-screenshots/.

import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** A test that leaves a screenshot of the page as it failed (`failed-<name>.png`), and no dialog
 * open for the next one. */
function test(name, fn) {
  nodeTest(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const file = `failed-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}.png`;
      await page?.screenshot({ path: join(SHOTS, file) }).catch(() => {});
      // A dialog left open would fail every later test too: close it (a click beside it).
      await page?.locator('.overlay').click({ position: { x: 2, y: 2 }, timeout: 2000 }).catch(() => {});
      throw err;
    }
  });
}

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
  server = spawn(BATON, ['serve', '--port', port, '--data-dir', data], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: process.env.BATON_E2E_LOG ?? 'warn' } });
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
      constructor(title, options) { this.title = title; this.body = options?.body; window.__notifications.push(this); }
      close() {}
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

  // First run: the agents found on this machine (the shell always is; a missing one says how to get it).
  await page.locator('.first-run-agents li.found[data-agent=shell]').waitFor();
  await page.locator('.first-run-agents li[data-agent=scripted]').waitFor();
  await page.screenshot({ path: join(SHOTS, 'first-run.png') });
  // Create a project with a folder.
  await page.getByRole('button', { name: 'Create a project' }).click();
  await page.fill('input[name=name]', 'Web shop');
  await page.fill('input[name=basePath]', folder);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const project = await until(async () => (await api('GET', '/api/projects')).body[0], 'the project');
  assert.equal(project.name, 'Web shop');
  assert.equal(project.basePath, folder);
  // The dialog closes once the new project is the one shown (the server answering comes first).
  await page.locator('input[name=basePath]').waitFor({ state: 'detached' });

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
  // It says what the agent asks: the last line of its screen.
  const notes = await page.evaluate(() => window.__notifications);
  assert.equal(notes.find((n) => n.title === 'helper 1 is waiting').body, 'agent>', JSON.stringify(notes));
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

  // Stop the session from its pane: it asks first.
  await page.locator(`.pane[data-session="${session.id}"] button:has-text("Stop")`).click();
  await page.locator(`.pane[data-session="${session.id}"] button:has-text("Keep")`).click();
  assert.equal((await api('GET', `/api/sessions/${session.id}`)).body.status !== 'stopped', true, 'kept running');
  await page.locator(`.pane[data-session="${session.id}"] button:has-text("Stop")`).click();
  await page.locator(`.pane[data-session="${session.id}"] button:has-text("Stop the agent?")`).click();
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
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await until(async () => (await api('GET', '/api/agents/scripted')).body.name === 'Scripted (edited)', 'the profile to change');

  // The price table: a model's price changed and saved, then Baton's own again.
  const sonnet = page.locator('[data-prices] tr[data-price-row="claude-sonnet-4"]');
  await sonnet.locator('input[aria-label="output price"]').fill('16');
  await page.locator('[data-action=save-prices]').click();
  await until(async () => {
    const t = (await api('GET', '/api/prices')).body;
    return t.source === 'data_dir' && t.prices['claude-sonnet-4'].output === 16;
  }, 'the price to be saved');
  await page.screenshot({ path: join(SHOTS, 'prices.png') });
  await page.getByRole('button', { name: "Use Baton's prices" }).click();
  await until(async () => (await api('GET', '/api/prices')).body.source === 'built_in', "Baton's own prices again");
  // The form shows Baton's own price again once it has read the table back (not at once).
  await until(async () => (await sonnet.locator('input[aria-label="output price"]').inputValue()) === '15', "the form to show Baton's price");

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

/** What the recording agent received so far. */
const received = (file) => (existsSync(file) ? readFileSync(file, 'latin1') : '');
const projectId = async () => (await api('GET', '/api/projects')).body[0].id;
/** The id of the element that has the keyboard focus, as "pane:<session>" inside a terminal. */
const focusIn = () => page.evaluate(() => {
  const el = document.activeElement;
  const pane = el?.closest?.('.pane');
  if (pane && el.closest('.xterm')) return `pane:${pane.dataset.session}`;
  return el ? `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''}` : '';
});

test('the terminal never types what the user did not: one answer per query, keys of terminals go to the agent', async () => {
  const file = join(folder, 'received-da');
  const asker = (await api('POST', '/api/sessions', { projectId: await projectId(), command: [AGENT, '--record', file, 'da'], name: 'asker' })).body;
  // Nobody watches: the server answers the device-attributes query, once.
  await until(async () => received(file) === '\x1b[?1;2c', "the server's answer");

  // The pane is shown five times (terminals ⇄ board, and the 1/2/4 layouts); a second viewer attaches.
  await page.locator(`.session-item[data-session="${asker.id}"]`).click();
  for (let i = 0; i < 5; i++) {
    await page.getByRole('button', { name: 'Board' }).click();
    await page.getByRole('button', { name: /^Terminals/ }).click();
    await page.locator(`.toolbar button[data-layout="${[1, 2, 4][i % 3]}"]`).click();
    await until(async () => (await screen(asker.id)).includes('recording at'), 'the pane to show the agent again');
  }
  const second = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await second.goto(`${url}/#token=${token}`);
  await second.locator(`.session-item[data-session="${asker.id}"]`).click();
  await second.locator(`.pane[data-session="${asker.id}"] .xterm-host`).waitFor();

  // Typed keys arrive once; Ctrl+J and Ctrl+K reach the program unchanged.
  await page.locator(`.pane[data-session="${asker.id}"] .xterm-host`).click();
  // Clicking a layout button leaves the keyboard in the terminal.
  await page.locator('.toolbar button[data-layout="1"]').click();
  await until(async () => (await focusIn()) === `pane:${asker.id}`, 'the terminal to keep the focus');
  await page.keyboard.type('x');
  await page.keyboard.press('Control+j');
  await page.keyboard.press('Control+k');
  await until(async () => received(file) === '\x1b[?1;2cx\n\x0b', 'x, Ctrl+J, Ctrl+K');
  // Ctrl+Shift+K is the app's: the palette opens with the focus, the program gets nothing.
  await page.keyboard.press('Control+Shift+K');
  await page.locator('.palette input').waitFor();
  await until(async () => (await focusIn()) === 'input', 'the palette to have the focus');
  await page.keyboard.type('board');
  assert.equal(await page.locator('.palette input').inputValue(), 'board');
  await page.keyboard.press('Escape');
  await second.close();
  assert.equal(received(file), '\x1b[?1;2cx\n\x0b', 'exactly one answer to the query, and only what was typed');

  // Ctrl+Shift+J goes to the next agent waiting for you, cycling, with the keyboard in its terminal.
  await api('POST', `/api/sessions/${asker.id}/stop`, {});
  const waiting = async () => (await api('GET', `/api/sessions?projectId=${await projectId()}`)).body.filter((s) => s.status === 'waiting');
  const a = (await api('POST', '/api/sessions', { projectId: await projectId(), agentId: 'scripted', name: 'waiter A' })).body;
  const b = (await api('POST', '/api/sessions', { projectId: await projectId(), agentId: 'scripted', name: 'waiter B' })).body;
  await until(async () => (await waiting()).filter((s) => s.id === a.id || s.id === b.id).length === 2, 'two waiting agents');
  await until(async () => (await page.locator('.session-item.waiting').count()) >= 2, 'the sidebar to show them');
  const order = await page.evaluate(() => window.__baton.projectSessions().filter((s) => s.status === 'waiting').map((s) => `pane:${s.id}`));
  assert.ok(order.length >= 2, JSON.stringify(order));
  const seen = [];
  for (let i = 0; i < order.length + 1; i++) {
    // A pane that takes the focus is laid out again and its agent prints its new size: it works
    // until it is quiet again, and only waiting agents are cycled through.
    await until(async () => page.evaluate((ids) => ids.every((id) => window.__baton.state.sessions[id.slice(5)]?.status === 'waiting'), order),
      'every agent of the cycle to wait again');
    await page.keyboard.press('Control+Shift+J');
    await until(async () => (await focusIn()).startsWith('pane:') && (await focusIn()) !== seen[seen.length - 1], 'a terminal to take the focus')
      .catch(async (e) => {
        const st = await page.evaluate(() => ({ active: window.__baton.state.activeTab, layout: window.__baton.state.layout, dialog: window.__baton.state.dialog, waiting: window.__baton.projectSessions().filter((s) => s.status === 'waiting').map((s) => s.id) }));
        throw new Error(`${e.message}: focus ${await focusIn()}, seen ${seen}, order ${order}, ${JSON.stringify(st)}`);
      });
    seen.push(await focusIn());
  }
  for (let i = 1; i < seen.length; i++) {
    assert.equal(order.indexOf(seen[i]), (order.indexOf(seen[i - 1]) + 1) % order.length, `it cycles in sidebar order: ${seen} / ${order}`);
  }
});

test('a new session has its pane size from the first byte; tabs and layout survive a reload', async () => {
  const t = (await api('POST', '/api/tasks', { projectId: await projectId(), title: 'Measure the pane' })).body;
  await page.getByRole('button', { name: 'Board' }).click();
  await page.locator(`[data-task="${t.id}"]`).click();
  await page.getByRole('button', { name: /Run with/ }).click();
  await page.locator('button[data-agent=scripted]').click();
  const session = await until(async () => (await api('GET', `/api/sessions?taskId=${t.id}`)).body[0], 'the session');
  await until(async () => (await screen(session.id)).includes('started at'), 'the first line');
  const first = (await screen(session.id)).match(/started at (\d+)x(\d+)/);
  const size = await page.evaluate((id) => {
    const term = document.querySelector(`.pane[data-session="${id}"] .xterm-host`).__xterm;
    return [term.cols, term.rows];
  }, session.id);
  assert.deepEqual([Number(first[1]), Number(first[2])], size, 'stty size at the first byte == the pane');

  await page.locator('.toolbar button[data-layout="2"]').click();
  const before = await page.evaluate(() => ({ tabs: window.__baton.state.tabs, layout: window.__baton.state.layout, active: window.__baton.state.activeTab }));
  assert.ok(before.tabs.length >= 2, JSON.stringify(before));
  await page.reload();
  await page.locator(`.pane[data-session="${before.active}"]`).waitFor({ timeout: DEADLINE });
  const after = await page.evaluate(() => ({ tabs: window.__baton.state.tabs, layout: window.__baton.state.layout, active: window.__baton.state.activeTab }));
  assert.deepEqual(after, before);
});

test("a waiting agent's question and a quick reply from the sidebar; dialogs take the focus", async () => {
  const s = (await api('POST', '/api/sessions', { projectId: await projectId(), agentId: 'scripted', name: 'asks a question' })).body;
  const question = page.locator(`.session-item[data-session="${s.id}"] .question`);
  await question.waitFor({ timeout: DEADLINE });
  assert.match(await question.locator('.question-lines').textContent(), /agent>/);
  await question.locator('input.reply').fill('yes, go on');
  await question.locator('input.reply').press('Enter');
  const output = async () => (await fetch(`${url}/api/sessions/${s.id}/output`, { headers: { Authorization: `Bearer ${token}` } })).text();
  await until(async () => (await output()).includes('you said: yes, go on'), 'the reply to reach the agent');
  // It answers, then waits again: the question shows its new last lines.
  await until(async () => (await question.locator('.question-lines').textContent()).includes('you said: yes, go on'), 'the new question');
  await page.locator(`.session-item[data-session="${s.id}"] .question button[data-reply="Enter"]`).click({ timeout: DEADLINE });
  await until(async () => count(await output(), 'agent> ') >= 3, 'Enter to reach the agent');

  // A profile whose input box never shows never gets the prompt, and the sidebar says why.
  const file = join(folder, 'received-menu');
  await api('POST', '/api/agents', { id: 'menu', name: 'Menu only', program: AGENT, args: ['--record', file], promptMode: 'type', quietMs: 300, waitPattern: 'Type your message' });
  const t = (await api('POST', '/api/tasks', { projectId: await projectId(), title: 'Never typed', prompt: 'do not type me' })).body;
  const m = (await api('POST', '/api/sessions', { projectId: await projectId(), agentId: 'menu', taskIds: [t.id] })).body;
  await page.locator(`.session-item[data-session="${m.id}"] .report`, { hasText: "waiting for the agent's input box" }).waitFor({ timeout: DEADLINE });
  assert.equal(received(file), '', 'the prompt was not typed');

  // N on the board: the new task dialog has the keyboard.
  await page.getByRole('button', { name: 'Board' }).click();
  await page.locator('.board').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('n');
  await page.keyboard.type('Typed straight away');
  assert.equal(await page.locator('input[name=title]').inputValue(), 'Typed straight away');
  await page.keyboard.press('Escape');
  // ? shows the keys of this platform.
  await page.keyboard.press('?');
  assert.match(await page.locator('.keys-help').textContent(), /Ctrl\+Shift\+K/);
  assert.doesNotMatch(await page.locator('.keys-help').textContent(), /⌘/);
  await page.keyboard.press('Escape');
});

test("an agent's permission request: the sidebar and the pane say which tool, Allow answers its hook", async () => {
  // A stand-in for Claude's permission hook: `baton hook PermissionRequest` as Claude runs it,
  // waiting for the decision, then printing the answer Claude would read.
  const ask = JSON.stringify({ hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'make release' } });
  const script = `echo '${ask}' | baton hook PermissionRequest; echo; echo hook-done; sleep 60`;
  const r = await api('POST', '/api/sessions', {
    projectId: await projectId(), name: 'asks permission', command: ['sh', '-c', script],
    env: { BATON_APPROVAL_WAIT_MS: '30000' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = r.body;
  const item = page.locator(`.session-item[data-session="${s.id}"]`);
  const approval = item.locator('.approval');
  await approval.waitFor({ timeout: DEADLINE });
  assert.match(await approval.locator('.approval-ask').textContent(), /Bash\s*make release/);
  assert.match(await item.getAttribute('title'), /asks to run Bash/);
  await until(async () => (await page.evaluate(() => window.__notifications))
    .find((n) => n.title === 'asks permission asks to run Bash' && n.body === 'make release'), 'a notification naming the tool');
  // The pane header has the same two buttons.
  await item.locator('.session-name').click();
  const pane = page.locator(`.pane[data-session="${s.id}"]`);
  await pane.locator('.pane-head .approval button[data-decision="deny"]').waitFor({ timeout: DEADLINE });
  await page.screenshot({ path: join(SHOTS, 'approval.png') });
  assert.ok(!(await screen(s.id)).includes('hook-done'), 'the hook waits for the decision');
  await approval.locator('button[data-decision="allow"]').click();
  await until(async () => screen(s.id).then((t) => t.includes('hook-done')), 'the hook to answer');
  const output = await (await fetch(`${url}/api/sessions/${s.id}/output`, { headers: { Authorization: `Bearer ${token}` } })).text();
  assert.match(output, /"behavior":"allow"/);
  const actions = (await api('GET', `/api/sessions/${s.id}/actions`)).body;
  assert.equal(actions[0].status, 'allowed');
  assert.equal(actions[0].decidedBy, 'user');
  await until(async () => (await approval.count()) === 0, 'the buttons to go once decided');

  // Another agent asks while the person looks elsewhere: a notification inside the window with
  // Allow / Deny; the desktop notification, clicked, opens its terminal.
  const ask2 = JSON.stringify({ hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'rm -rf build' } });
  const r2 = await api('POST', '/api/sessions', {
    projectId: await projectId(), name: 'asks again', command: ['sh', '-c', `echo '${ask2}' | baton hook PermissionRequest; echo; echo hook-done; sleep 60`],
    env: { BATON_APPROVAL_WAIT_MS: '30000' },
  });
  assert.equal(r2.status, 201, JSON.stringify(r2.body));
  const s2 = r2.body;
  const toast = page.locator(`.ask-toast[data-session="${s2.id}"]`);
  await toast.waitFor({ timeout: DEADLINE });
  assert.match(await toast.textContent(), /asks again asks to run Bash/);
  assert.match(await toast.locator('.ask-summary').textContent(), /rm -rf build/);
  await page.screenshot({ path: join(SHOTS, 'approval-toast.png') });
  await until(async () => page.evaluate(() => window.__notifications.some((n) => n.title === 'asks again asks to run Bash')), 'its notification');
  await page.evaluate(() => window.__notifications.find((n) => n.title === 'asks again asks to run Bash').onclick());
  await page.locator(`.pane[data-session="${s2.id}"] .pane-head .approval`).waitFor({ timeout: DEADLINE });
  await until(async () => (await toast.count()) === 0, 'no toast for the agent in view');
  await page.getByRole('button', { name: 'Board' }).click();
  await toast.locator('button[data-decision="deny"]').click({ timeout: DEADLINE });
  const output2 = async () => (await fetch(`${url}/api/sessions/${s2.id}/output`, { headers: { Authorization: `Bearer ${token}` } })).text();
  await until(async () => (await output2()).includes('hook-done'), 'the hook to answer');
  assert.match(await output2(), /"behavior":"deny"/);
  await until(async () => (await toast.count()) === 0, 'the toast to go once decided');
  await api('POST', `/api/sessions/${s2.id}/stop`, {});
  await api('POST', `/api/sessions/${s.id}/stop`, {});
});

test('tasks run themselves: queue from a card, pause and resume, cancel and retry, runs with their output, bulk', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await api('POST', '/api/agents', { id: 'batch', name: 'Batch', program: AGENT, args: ['--batch', 'sleep=200'], promptMode: 'none', exitMeansDone: true });
  await api('POST', '/api/agents', { id: 'slow', name: 'Slow', program: AGENT, args: ['--batch', 'sleep=60000'], promptMode: 'none', exitMeansDone: true });
  const p = await projectId();
  await page.getByRole('button', { name: 'Board' }).click();
  const t = (await api('POST', '/api/tasks', { projectId: p, title: 'Queued from the board' })).body;
  const card = page.locator(`.card[data-task="${t.id}"]`);
  await card.waitFor();

  // Paused, a queued task shows its place; resumed, it runs and completes.
  await page.locator('.queue-panel button[data-action="pause-queue"]').click();
  await page.locator('.queue-panel[data-queue="paused"]').waitFor();
  await card.locator('button[data-action="execute"]').click();
  await page.locator('button[data-queue-agent="batch"]').click();
  await page.locator('.overlay').waitFor({ state: 'detached', timeout: 3000 }).catch(async () => {
    throw new Error(`the dialog stayed: ${await page.locator('.overlay').textContent()}`);
  });
  await card.locator('.exec-line', { hasText: '#1 in queue' }).waitFor();
  assert.equal((await api('GET', `/api/tasks/${t.id}`)).body.status, 'queued');
  await page.locator('.queue-panel button[data-action="resume-queue"]').click();
  await page.locator(`.column[data-status="completed"] .card[data-task="${t.id}"]`).waitFor({ timeout: DEADLINE });

  // Its run, and what that run printed.
  await card.click();
  await page.locator('.runs li[data-run]').first().waitFor();
  await page.locator('.runs .linklike').first().click();
  await page.locator('.run-output', { hasText: `batch run of ${t.id}` }).waitFor();

  // A running task is cancelled from its card, then retried as attempt 2.
  const slow = (await api('POST', '/api/tasks', { projectId: p, title: 'Slow one' })).body;
  await api('POST', `/api/tasks/${slow.id}/execute`, { agentId: 'slow', maxAttempts: 2 });
  const slowCard = page.locator(`.card[data-task="${slow.id}"]`);
  await page.locator(`.column[data-status="in_progress"] .card[data-task="${slow.id}"]`).waitFor();
  await slowCard.locator('button[data-action="cancel"]').click();
  await page.locator(`.column[data-status="cancelled"] .card[data-task="${slow.id}"]`).waitFor({ timeout: DEADLINE });
  await slowCard.locator('button[data-action="retry"]').click();
  await slowCard.locator('.exec-line', { hasText: 'attempt 2/2' }).waitFor();
  await until(async () => (await api('GET', `/api/tasks/${slow.id}`)).body.status === 'in_progress', 'the retry to run');
  await slowCard.locator('button[data-action="cancel"]').click();
  await page.locator(`.column[data-status="cancelled"] .card[data-task="${slow.id}"]`).waitFor({ timeout: DEADLINE });

  // Several tasks at once: tick them, set their priority, delete them.
  const a = (await api('POST', '/api/tasks', { projectId: p, title: 'Bulk A' })).body;
  const b = (await api('POST', '/api/tasks', { projectId: p, title: 'Bulk B' })).body;
  for (const id of [a.id, b.id]) await page.locator(`.card[data-task="${id}"] input.pick`).click();
  await page.locator('.bulk-bar[data-picked="2"]').waitFor();
  await page.locator('.bulk-bar select').selectOption('high');
  await until(async () => (await api('GET', `/api/tasks/${a.id}`)).body.priority === 'high' && (await api('GET', `/api/tasks/${b.id}`)).body.priority === 'high', 'both tasks high');
  await page.screenshot({ path: join(SHOTS, 'queue-board.png') });
  // At 1280 px, with the details panel open, all five columns and every card show whole.
  const clipped = await page.evaluate(() => {
    const board = document.querySelector('.board').getBoundingClientRect();
    const out = [];
    for (const el of document.querySelectorAll('.board .column, .board .card, .board .card *')) {
      const r = el.getBoundingClientRect();
      const box = el.closest('.card')?.getBoundingClientRect() ?? board;
      if (r.width && (r.right > Math.min(board.right, box.right) + 0.5 || r.left < board.left - 0.5)) out.push(el.className || el.tagName);
    }
    return out;
  });
  assert.deepEqual(clipped, [], 'nothing on the board is cut off');
  page.once('dialog', (d) => d.accept());
  await page.locator('.bulk-bar button[data-bulk="delete"]').click();
  await until(async () => (await api('GET', `/api/tasks/${a.id}`)).status === 404 && (await api('GET', `/api/tasks/${b.id}`)).status === 404, 'both tasks deleted');
  await page.locator('.bulk-bar').waitFor({ state: 'detached' });
});

test("review: a task's diff shows the changed file and a line comment reaches its agent's terminal", async () => {
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const repo = mkdtempSync(join(tmpdir(), 'baton-e2e-repo-'));
  const git = (...args) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@x' } });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'app.py'), 'def total(items):\n    return sum(items)\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'start');
  const project = (await api('POST', '/api/projects', { name: 'Repo', basePath: repo })).body;
  const task = (await api('POST', '/api/tasks', { projectId: project.id, title: 'Add tax' })).body;
  const session = await api('POST', '/api/sessions', { projectId: project.id, taskIds: [task.id], command: [AGENT] });
  assert.equal(session.status, 201);
  const ws = (await api('GET', `/api/tasks/${task.id}/workspace`)).body;
  assert.ok(ws.path && ws.branch.startsWith('baton/add-tax-'));
  // What the agent "did" in its worktree.
  writeFileSync(join(ws.path, 'app.py'), 'def total(items, tax=0.2):\n    return sum(items) * (1 + tax)\n');

  await page.setViewportSize({ width: 1280, height: 800 });
  const before = await page.evaluate(() => window.__baton.state.projectId);
  await page.evaluate((id) => window.__baton.selectProject(id), project.id);
  await page.getByRole('button', { name: 'Board' }).click();
  await page.locator(`[data-task="${task.id}"]`).click();
  await page.locator('.workspace[data-mode=worktree] code', { hasText: ws.branch }).waitFor();
  await page.locator('button[data-action=review]').click();
  await page.locator('.review-files li[data-file="app.py"]').waitFor();
  const table = page.locator('table.diff[data-diff="app.py"]');
  await table.waitFor();
  assert.match(await table.innerText(), /return sum\(items\) \* \(1 \+ tax\)/);
  // Highlighted by highlight.js: the keyword is a span of its own.
  assert.ok(await table.locator('.hljs-keyword').count() > 0, 'syntax highlighted');
  await page.screenshot({ path: join(SHOTS, 'review.png') });
  // Comment on the added line 2 and send it.
  await table.locator('td.code.add', { hasText: 'return sum(items) * (1 + tax)' }).click();
  await page.locator('.comment-row textarea').fill('round to cents');
  await page.locator('button[data-action=add-comment]').click();
  await page.locator('button[data-action=send-review]', { hasText: 'Send to agent (1)' }).click();
  await page.locator('.review-note', { hasText: 'typed into' }).waitFor();
  await until(async () => {
    const res = await fetch(`${url}/api/sessions/${session.body.id}/output`, { headers: { Authorization: `Bearer ${token}` } });
    return (await res.text()).includes('you said: Review of your changes: app.py:2: round to cents');
  }, 'the comment in the agent terminal');
  await page.keyboard.press('Escape');
  await api('POST', `/api/sessions/${session.body.id}/stop`, {});
  await page.evaluate((id) => window.__baton.selectProject(id), before);
});

test('screenshots at 1280×800 and 1920×1080, light and dark', async () => {
  for (const [w, h] of [[1280, 800], [1920, 1080]]) {
    for (const scheme of ['dark', 'light']) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await page.getByRole('button', { name: 'Board' }).click();
      await page.screenshot({ path: join(SHOTS, `board-${w}x${h}-${scheme}.png`) });
      await page.getByRole('button', { name: /^Terminals/ }).click();
      await page.locator('.toolbar button[data-layout="4"]').click();
      await page.locator('.pane .xterm-host').first().waitFor();
      await page.screenshot({ path: join(SHOTS, `terminals-${w}x${h}-${scheme}.png`) });
      // "Run with…" is not clipped: the details panel shows it whole.
      const t = Object.values(await page.evaluate(() => window.__baton.state.tasks))[0];
      await page.evaluate((id) => window.__baton.set({ selected: { kind: 'task', id } }), t.id);
      const run = await page.getByRole('button', { name: /Run with/ }).boundingBox();
      const panel = await page.locator('.details').boundingBox();
      assert.ok(run && run.x + run.width <= panel.x + panel.width, `Run with… inside the panel at ${w}: ${JSON.stringify({ run, panel })}`);
    }
  }
});
