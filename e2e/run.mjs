// End-to-end tests of onduty's web UI in a real browser: Playwright (playwright-core)
// drives Chromium against a fresh `onduty serve` with its own temporary data directory.
//
// Covers: the first-run set-up page; a service and routing key made through the REST
// API; a new incident appearing on the open incident list without a reload (server-sent
// events and /static/live.js); acknowledging and resolving an incident (with the
// confirm() dialog); the On call page; the phone-sized layout (no sideways scrolling,
// big enough buttons, acknowledging from a phone). Any console error, uncaught page
// error or Content-Security-Policy violation fails the story it happened in.
// Screenshots of the pages go to target/e2e-screenshots/, the server's log to
// target/e2e-server.log.
//
// Run from the repository root:
//   cargo build -p onduty && npm ci --prefix e2e && node e2e/run.mjs
// Environment: ONDUTY_BIN (default: target/debug/onduty in the repository),
// CHROMIUM (default: /usr/bin/chromium). Only 127.0.0.1 is contacted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.ONDUTY_BIN
  ? resolve(process.env.ONDUTY_BIN)
  : join(REPO, 'target/debug/onduty');
const SHOTS = join(REPO, 'target/e2e-screenshots');
const SERVER_LOG = join(REPO, 'target/e2e-server.log');

/** How long a page may take to show what a story waits for. */
const WAIT_MS = 10_000;
/** Smallest height of a button meant to be tapped on a phone, in CSS pixels. */
const MIN_TAP_PX = 40;
const PHONE = { width: 375, height: 667 };

const ADMIN = { name: 'Ada Admin', email: 'ada@example.com', password: 'correct horse battery' };
const SERVICE = 'Checkout API';
const FIRST = { dedup: 'disk/db01', summary: 'Disk 95% full on db01' };
const SECOND = { dedup: 'cpu/web02', summary: 'CPU load 40 on web02.example.com' };

let server; // the onduty child process
let base; // http://127.0.0.1:<port>
let token; // the admin API token printed on first start
let routingKey; // story b
let incidentNumber; // story c
let browser;
let desktop; // the desktop browser context, logged in by story a
let page; // its one page
const problems = []; // console errors, page errors, requests elsewhere

// ---- the server -------------------------------------------------------------------------

/** Starts `onduty serve` on a free port with an empty data directory; resolves once it
 * has printed its address and the first-start API token. */
async function startServer() {
  assert.ok(existsSync(BIN), `no onduty binary at ${BIN}: run cargo build -p onduty, or set ONDUTY_BIN`);
  const dataDir = await mkdtemp(join(tmpdir(), 'onduty-e2e-'));
  // Nothing from the caller's ONDUTY_* settings, and no onduty.toml: the data directory
  // is also the working directory.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ONDUTY_')),
  );
  await mkdir(dirname(SERVER_LOG), { recursive: true });
  const log = createWriteStream(SERVER_LOG);
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: dataDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.dataDir = dataDir;
  child.stderr.pipe(log);
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`onduty exited early (${signal ?? code}); see ${SERVER_LOG}`);
  });
  exited.catch(() => {}); // only awaited while starting
  const ready = new Promise((resolveReady) => {
    let url;
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(line + '\n');
      url ??= line.match(/^onduty listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
      const found = line.match(/export ONDUTY_TOKEN=(odt_\S+)/)?.[1];
      if (url && found) resolveReady({ url, token: found });
    });
  });
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`onduty did not start in 30 s; see ${SERVER_LOG}`)), 30_000).unref(),
  );
  server = child;
  return Promise.race([ready, exited, timeout]);
}

async function stopServer() {
  if (!server) return;
  if (server.exitCode === null && server.signalCode === null) {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await rm(server.dataDir, { recursive: true, force: true });
}

// Whatever happens (a crash, Ctrl-C, a CI time-out), the server does not outlive us.
process.on('exit', () => {
  if (!server) return;
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  rmSync(server.dataDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(1));

// ---- helpers ---------------------------------------------------------------------------

/** A REST API call with the admin token; fails unless it answers 2xx. */
async function api(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** Sends a PagerDuty Events v2 trigger, as a monitoring tool would. */
async function trigger({ dedup, summary }) {
  const response = await fetch(`${base}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: dedup,
      payload: { summary, source: 'db01.example.com', severity: 'critical' },
    }),
  });
  const answer = await response.json();
  assert.equal(response.status, 202, JSON.stringify(answer));
  assert.equal(answer.status, 'success');
  assert.equal(answer.dedup_key, dedup);
}

/** A browser context on the server that records every console error, uncaught error
 * (CSP violations are console errors) and request to anywhere but the server. */
async function newContext(options = {}) {
  const context = await browser.newContext({ baseURL: base, ...options });
  context.setDefaultTimeout(WAIT_MS);
  context.on('page', (p) => {
    p.on('console', (m) => {
      if (m.type() === 'error') {
        const from = m.location().url;
        problems.push(`console error on ${p.url()}: ${m.text()}${from ? ` (${from})` : ''}`);
      }
    });
    p.on('pageerror', (e) => problems.push(`uncaught error on ${p.url()}: ${e.message}`));
    p.on('request', (r) => {
      if (!r.url().startsWith(base + '/')) problems.push(`request to ${r.url()} from ${p.url()}`);
    });
  });
  return context;
}

/** Fails the current story if the browser reported anything since the last check. */
function assertNoBrowserProblems() {
  const found = problems.splice(0);
  assert.deepEqual(found, [], 'the browser reported problems');
}

/** Takes one expected problem off the list (an error page answered on purpose, say);
 * fails if it is not there. */
function takeExpectedProblem(pattern) {
  const i = problems.findIndex((text) => pattern.test(text));
  assert.ok(i >= 0, `expected the browser to report ${pattern}; it reported ${JSON.stringify(problems)}`);
  problems.splice(i, 1);
}

function pathOf(p) {
  return new URL(p.url()).pathname;
}

async function screenshot(p, name) {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The status shown on an incident's page, once it reads `status`. */
async function waitForStatus(p, status) {
  await p.locator('main span.status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor();
}

async function assertNoSidewaysScrolling(p) {
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  if (width <= PHONE.width) return;
  // Name the elements that stick out, innermost first, to say what to fix.
  const wide = await p.evaluate((limit) => {
    const describe = (e) =>
      e.tagName.toLowerCase() + (e.className ? `.${String(e.className).trim().replace(/\s+/g, '.')}` : '');
    const right = (node) => {
      const range = document.createRange();
      range.selectNodeContents(node);
      return Math.max(range.getBoundingClientRect().right, node.getBoundingClientRect?.().right ?? 0);
    };
    return [...document.querySelectorAll('body *')]
      .filter((e) => right(e) > limit)
      .filter((e) => ![...e.children].some((c) => right(c) > limit))
      .slice(0, 5)
      .map((e) => `${describe(e)} "${e.textContent.trim().slice(0, 40)}" (to ${Math.round(right(e))} px)`);
  }, PHONE.width);
  assert.fail(`${pathOf(p)} is ${width} px wide on a ${PHONE.width} px screen: ${wide.join(', ')}`);
}

// ---- set-up and tear-down ------------------------------------------------------------------

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  ({ url: base, token } = await startServer());
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  desktop = await newContext({ viewport: { width: 1280, height: 800 } });
  page = await desktop.newPage();
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await stopServer();
  }
});

// ---- stories -------------------------------------------------------------------------------

test('a. first-run set-up creates an administrator and logs them in', async () => {
  await page.goto('/');
  assert.equal(pathOf(page), '/setup');
  await page.getByRole('heading', { name: 'Welcome to onduty' }).waitFor();
  await screenshot(page, 'setup');

  const fill = async (apiToken) => {
    await page.getByLabel("Administrator's API token").fill(apiToken);
    await page.getByLabel('Name').fill(ADMIN.name);
    await page.getByLabel('E-mail').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create administrator' }).click();
  };

  // Without a real administrator's token, nobody is created.
  await fill('odt_0000000000000000000000000000000000000000');
  await page.getByRole('alert').filter({ hasText: "not an administrator's API token" }).waitFor();
  assert.equal(pathOf(page), '/setup');
  // The page comes with status 400, which Chromium logs as a console error.
  takeExpectedProblem(/status of 400 .*\(http:\/\/[^)]*\/setup\)$/);

  await fill(token);
  await page.waitForURL('**/incidents');
  await page.getByRole('heading', { name: 'Incidents', exact: true }).waitFor();
  await page.getByRole('link', { name: ADMIN.name }).waitFor(); // signed in, in the nav bar
  await page.getByText('No incidents.').waitFor();

  // Set-up happens once: the page now sends people to log in.
  const again = await fetch(`${base}/setup`, { redirect: 'manual' });
  assert.ok(again.status >= 300 && again.status < 400, `GET /setup answered ${again.status}`);
  assert.equal(again.headers.get('location'), '/login');
  assertNoBrowserProblems();
});

test('b. a service and its routing key, through the REST API', async () => {
  const { service } = await api('POST', '/api/v1/services', { name: SERVICE });
  assert.equal(service.name, SERVICE);
  const { integration } = await api(
    'POST',
    `/api/v1/services/${encodeURIComponent(service.id)}/integrations`,
    {},
  );
  assert.equal(integration.service_id, service.id);
  assert.match(integration.routing_key, /^[0-9a-f]{32}$/);
  routingKey = integration.routing_key;
});

test('c. a new incident appears on the open list without a reload', async () => {
  assert.ok(routingKey, 'needs the routing key of story b');
  // The list must be listening before the event is sent: its event stream's answer
  // comes once the server has noted the current state of the incidents.
  const listening = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/live/incidents' && r.status() === 200,
  );
  await page.goto('/incidents');
  await listening;
  const row = page.locator('table.incidents tbody tr').filter({ hasText: FIRST.summary });
  assert.equal(await row.count(), 0, 'the incident is listed before its event was sent');
  await page.evaluate(() => {
    window.e2eMarker = 'same page';
  });

  await trigger(FIRST);
  await row.waitFor({ timeout: WAIT_MS });

  assert.equal(await page.evaluate(() => window.e2eMarker), 'same page', 'the page was reloaded');
  assert.equal(await row.locator('.status').textContent(), 'triggered');
  assert.ok((await row.textContent()).includes(SERVICE), 'the row names the service');
  assert.match(await page.locator('main .counts').textContent(), /^1 triggered · 0 acknowledged$/);
  incidentNumber = Number(await row.locator('td').first().textContent());
  assert.ok(incidentNumber > 0, 'the row starts with the incident number');
  await screenshot(page, 'incidents');
  assertNoBrowserProblems();
});

test('d. acknowledge, then resolve after confirming', async () => {
  assert.ok(incidentNumber, 'needs the incident of story c');
  await page.getByRole('link', { name: FIRST.summary }).click();
  await page.waitForURL(`**/incidents/${incidentNumber}`);
  await page.getByRole('heading', { name: `#${incidentNumber} ${FIRST.summary}` }).waitFor();
  await waitForStatus(page, 'triggered');
  await screenshot(page, 'incident');

  await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await waitForStatus(page, 'acknowledged');
  await page.getByRole('button', { name: 'Unacknowledge' }).waitFor();

  const dialogs = [];
  page.once('dialog', async (dialog) => {
    dialogs.push({ type: dialog.type(), message: dialog.message() });
    await dialog.accept();
  });
  await page.getByRole('button', { name: 'Resolve', exact: true }).click();
  await waitForStatus(page, 'resolved');
  assert.deepEqual(dialogs, [{ type: 'confirm', message: `Resolve #${incidentNumber}?` }]);
  assert.equal(await page.getByRole('button', { name: 'Resolve', exact: true }).count(), 0);

  const { incident } = await api('GET', `/api/v1/incidents/${incidentNumber}`);
  assert.equal(incident.status, 'resolved');
  await screenshot(page, 'incident-resolved');
  assertNoBrowserProblems();
});

test('the On call page', async () => {
  await page.getByRole('link', { name: 'On call' }).click();
  await page.waitForURL('**/oncall');
  await page.getByRole('heading', { name: 'On call now' }).waitFor();
  await page.getByText('No schedules yet.').waitFor();
  await screenshot(page, 'oncall');
  assertNoBrowserProblems();
});

test('e. a phone: no sideways scrolling, big buttons, acknowledging', async () => {
  assert.ok(routingKey, 'needs the routing key of story b');
  await trigger(SECOND);
  const phone = await newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  try {
    const p = await phone.newPage();
    await p.goto('/');
    assert.equal(pathOf(p), '/login');
    await p.getByLabel('E-mail').fill(ADMIN.email);
    await p.getByLabel('Password').fill(ADMIN.password);
    await p.getByRole('button', { name: 'Log in' }).tap();
    await p.waitForURL('**/incidents');
    const link = p.getByRole('link', { name: SECOND.summary });
    await link.waitFor();
    await screenshot(p, 'phone-incidents');
    await assertNoSidewaysScrolling(p);

    await link.tap();
    await p.waitForURL(/\/incidents\/\d+$/);
    await waitForStatus(p, 'triggered');
    await screenshot(p, 'phone-incident');
    await assertNoSidewaysScrolling(p);
    const acknowledge = p.getByRole('button', { name: 'Acknowledge', exact: true });
    await acknowledge.waitFor({ state: 'visible' });
    const box = await acknowledge.boundingBox();
    assert.ok(box.height >= MIN_TAP_PX, `the Acknowledge button is ${box.height} px tall`);

    await acknowledge.tap();
    await waitForStatus(p, 'acknowledged');
    await screenshot(p, 'phone-incident-acknowledged');
    await assertNoSidewaysScrolling(p);
    const number = pathOf(p).split('/').pop();
    const { incident } = await api('GET', `/api/v1/incidents/${number}`);
    assert.equal(incident.summary, SECOND.summary);
    assert.equal(incident.status, 'acknowledged');
  } finally {
    await phone.close();
  }
  assertNoBrowserProblems();
});
