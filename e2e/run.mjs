// End-to-end tests of onduty's web UI in a real browser: Playwright (playwright-core)
// drives Chromium against a fresh `onduty serve` with its own temporary data directory.
//
// Covers the issue's "done means": a new user goes from a fresh server to a configured
// service, escalation policy and schedule, sees a test incident arrive live and
// acknowledges it on a phone-sized screen, all without the API. In order: the first-run
// set-up page; adding a person, a schedule (two people taking turns daily), an escalation
// policy paging that schedule and a service through that policy, with the web forms; an
// event sent with the service's routing key appearing on the open incident list without
// a reload (server-sent events, /static/live.js and the page's data-since); acknowledging
// and resolving (with the confirm() dialog); covering a shift from the schedule's
// timeline ("Cover this" and the override form); the On call page; the phone-sized
// layout of every main page (no sideways scrolling, big enough buttons, acknowledging
// from a phone); the keyboard alone acknowledging an incident in the dark theme, with the
// contrast of text and links measured; the 3 a.m. test, on a phone and a desktop (an
// incident's link opened logged out, a 900-character summary, acknowledged with one tap
// after logging in, the confirmation in sight, the page fetched once); a live change held
// while a filter has focus, then shown on request; every incident matching a search
// acknowledged at once; axe-core (from npm) on every page, light and dark, phone and
// desktop, with no violation of WCAG 2.1 A/AA or axe's best practices. The REST API is only used to check what the pages did. Any console
// error, uncaught page error, Content-Security-Policy violation or request to another
// host fails the story it happened in. Screenshots of the pages, desktop-*.png and
// phone-*.png, go to target/e2e-screenshots/, the server's log to target/e2e-server.log.
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
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
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
const GRACE = {
  name: 'Grace Hopper',
  email: 'grace@example.com',
  password: 'first password 1906',
  timeZone: 'America/New_York',
};
const SCHEDULE = 'Primary rota';
const POLICY = 'Checkout escalation';
const SERVICE = { name: 'Checkout API', description: 'Takes the money' };
const FIRST = { dedup: 'disk/db01', summary: 'Disk 95% full on db01' };
const SECOND = { dedup: 'cpu/web02', summary: 'CPU load 40 on web02.example.com' };

let server; // the onduty child process
let base; // http://127.0.0.1:<port>
let token; // the admin API token printed on first start
let adminPath; // /people/<id> of the administrator, story a
let gracePath; // /people/<id>, story b
let schedulePath; // /schedules/<id>, story b
let scheduleStart; // the first handoff, a Date at 00:00 UTC, story b
let policyPath; // /escalation-policies/<id>, story b
let servicePath; // /services/<id>, story b
let routingKey; // story b
let incidentNumber; // story c
let covered = false; // story e
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

/** Saves the whole page as target/e2e-screenshots/<name>.png; name says desktop or phone. */
async function screenshot(p, name) {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits for the one-time message a form leaves above <main>: `text`, as a
 * notice. Fails at once, saying why, if the form answered with an error instead. */
async function expectNotice(p, text) {
  const notice = p.locator('body > p.notice[role=status]').filter({ hasText: text });
  const error = p.locator('body > p.error[role=alert]');
  await notice.or(error).first().waitFor();
  assert.equal(await error.count(), 0, `the form answered: ${await error.allTextContents()}`);
  assert.equal((await notice.textContent()).trim(), text);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n) => String(n).padStart(2, '0');

/** A `datetime-local` value of a time in UTC: "2026-11-23T09:00". */
function localField(date) {
  return date.toISOString().slice(0, 16);
}

/** A time in UTC as the pages write it: "Mon 23 Nov 09:00". */
function clock(date) {
  const d = date;
  return `${WEEKDAYS[d.getUTCDay()]} ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

const DAY_MS = 24 * 3600 * 1000;

/** The start of the day (UTC) holding `date`, `days` later. */
function midnight(date, days = 0) {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + days));
}

/** Who the schedule of story b has on call now, before any override: Grace on the first
 * day, then the administrator, turn and turn about. */
function rotaNow() {
  const turns = Math.floor((Date.now() - scheduleStart.getTime()) / DAY_MS);
  return turns % 2 === 0 ? [GRACE, ADMIN] : [ADMIN, GRACE];
}

/** The status shown on an incident's page, once it reads `status`. */
async function waitForStatus(p, status) {
  await p.locator('main span.status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor();
}

/** What makes `p` scroll sideways on a phone, or null if nothing does. */
async function sidewaysScrolling(p) {
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  if (width <= PHONE.width) return null;
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
  return `${pathOf(p)} is ${width} px wide on a ${PHONE.width} px screen: ${wide.join(', ')}`;
}

/** An element's text with its white space collapsed, as a reader sees it. */
async function textOf(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

/** The form holding the button named `button`. */
function formWith(p, button) {
  return p.locator('main form').filter({ has: p.getByRole('button', { name: button, exact: true }) });
}

/** Waits for an incident's timeline to say the service's policy paged `person`, on call
 * in the schedule of story b. */
async function pagedThrough(p, person) {
  await p
    .locator('main ol.timeline > li')
    .filter({ hasText: `Escalation policy ${POLICY}, level 1: paging ${person.name} (on call in ${SCHEDULE})` })
    .waitFor();
}

// ---- set-up and tear-down ------------------------------------------------------------------

before(async () => {
  // The directory holds this run's screenshots only.
  await rm(SHOTS, { recursive: true, force: true });
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
  await screenshot(page, 'desktop-setup');

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
  // Home: nothing is paging the new administrator yet.
  await page.waitForURL((url) => url.pathname === '/');
  await page.getByRole('heading', { name: 'Nothing is paging you', exact: true }).waitFor();
  await page.getByRole('link', { name: ADMIN.name }).waitFor(); // signed in, in the nav bar
  await page.getByRole('link', { name: 'All open incidents' }).click();
  await page.waitForURL('**/incidents');
  await page.getByRole('heading', { name: 'Incidents', exact: true }).waitFor();
  await page.getByText('No incidents.').waitFor();

  // Set-up happens once: the page now sends people to log in.
  const again = await fetch(`${base}/setup`, { redirect: 'manual' });
  assert.ok(again.status >= 300 && again.status < 400, `GET /setup answered ${again.status}`);
  assert.equal(again.headers.get('location'), '/login');

  // Their name in the nav bar leads to their own page.
  await page.getByRole('link', { name: ADMIN.name }).click();
  await page.waitForURL(/\/people\/[^/]+$/);
  adminPath = pathOf(page);
  await page.getByRole('heading', { name: ADMIN.name, level: 1 }).waitFor();
  assert.equal(await textOf(page.locator('main h1 + p')), `${ADMIN.email} · admin · UTC`);
  await page.getByRole('link', { name: 'Change your password' }).waitFor();
  await screenshot(page, 'desktop-profile');
  assertNoBrowserProblems();
});

test('b. a person, a schedule, an escalation policy and a service, made with the web forms', async () => {
  assert.ok(adminPath, 'needs the administrator of story a');

  // A second person, Grace, through "Add a person".
  await page.getByRole('link', { name: 'People', exact: true }).click();
  await page.waitForURL('**/people');
  await page.getByRole('heading', { name: 'Add a person' }).waitFor();
  const addPerson = formWith(page, 'Add person');
  await addPerson.getByLabel('Name').fill(GRACE.name);
  await addPerson.getByLabel('E-mail').fill(GRACE.email);
  await addPerson.getByLabel('Role').selectOption({ label: 'responder: acts on incidents' });
  await addPerson.getByLabel('Time zone').fill(GRACE.timeZone);
  await addPerson.getByLabel('First password').fill(GRACE.password);
  await addPerson.getByRole('button', { name: 'Add person' }).click();
  await expectNotice(
    page,
    `Added ${GRACE.name}. They log in as ${GRACE.email} with the password you chose, then change it.`,
  );
  assert.match(pathOf(page), /^\/people\/[^/]+$/);
  assert.notEqual(pathOf(page), adminPath);
  gracePath = pathOf(page);
  await page.getByRole('heading', { name: GRACE.name, level: 1 }).waitFor();
  assert.equal(await textOf(page.locator('main h1 + p')), `${GRACE.email} · responder · ${GRACE.timeZone}`);
  await page.getByText(`No contact methods: ${GRACE.name} cannot be paged.`).waitFor();
  await screenshot(page, 'desktop-person');
  // A contact method that is not one comes back with what was chosen and typed.
  const addMethod = formWith(page, 'Add');
  await addMethod.locator('select[name=channel]').selectOption('voice');
  await addMethod.getByLabel(/^Where/).fill('call me maybe');
  await addMethod.getByLabel('Label (optional)').fill('Desk phone');
  await addMethod.getByRole('button', { name: 'Add', exact: true }).click();
  await page.locator('body > p.error[role=alert]').waitFor();
  assert.equal(await addMethod.locator('select[name=channel]').inputValue(), 'voice');
  assert.equal(await addMethod.getByLabel(/^Where/).inputValue(), 'call me maybe');
  assert.equal(await addMethod.getByLabel('Label (optional)').inputValue(), 'Desk phone');
  await page.getByText(`No contact methods: ${GRACE.name} cannot be paged.`).waitFor();

  await page.getByRole('link', { name: '← People' }).click();
  await page.waitForURL('**/people');
  const graceRow = page
    .locator('main ul.list > li')
    .filter({ has: page.getByRole('link', { name: GRACE.name, exact: true }) });
  assert.match(await textOf(graceRow), new RegExp(`^${GRACE.name} ${GRACE.email} · ${GRACE.timeZone} Role`));
  assert.equal(await page.getByLabel(`${GRACE.name}'s role`).inputValue(), 'responder');
  await screenshot(page, 'desktop-people');

  // A schedule: Grace and the administrator take turns, a day each, from today's 00:00 UTC.
  await page.getByRole('link', { name: 'Schedules', exact: true }).click();
  await page.waitForURL('**/schedules');
  await page.getByText('No schedules yet.').waitFor();
  scheduleStart = midnight(new Date());
  const newSchedule = formWith(page, 'Create schedule');
  await newSchedule.getByLabel('Name').fill(SCHEDULE);
  await newSchedule.getByLabel('Time zone').fill('UTC');
  await newSchedule.getByLabel('Who takes turns').fill(`${GRACE.email}, ${ADMIN.email}`);
  await newSchedule.getByLabel('First handoff').fill(localField(scheduleStart));
  await newSchedule.getByLabel('Each turn lasts').fill('1');
  await newSchedule.locator('select[name="layer1.unit"]').selectOption('days');
  await newSchedule.getByRole('button', { name: 'Create schedule' }).click();
  await expectNotice(page, `Created ${SCHEDULE}.`);
  assert.match(pathOf(page), /^\/schedules\/[^/]+$/);
  schedulePath = pathOf(page);
  await page.getByRole('heading', { name: SCHEDULE, level: 1 }).waitFor();
  const [onCall, next] = rotaNow();
  const tomorrow = midnight(new Date(), 1);
  assert.equal(
    await textOf(page.locator('main p.preview')),
    `On call now: ${onCall.name} until ${clock(tomorrow)}. Next: ${next.name} from ${clock(tomorrow)}.`,
  );
  assert.equal(await page.locator('main p.error').count(), 0, 'the schedule has gaps');
  // The timeline: fourteen days from today, a bar and a shift each, turn and turn about.
  const days = page.locator('main ol.days > li');
  assert.equal(await days.count(), 14);
  assert.equal(await page.locator('main svg.day').count(), 14);
  for (let i = 0; i < 14; i += 1) {
    const day = days.nth(i);
    const date = midnight(new Date(), i);
    const who = rotaNow()[i % 2];
    assert.equal(await textOf(day.locator('h3')), clock(date).slice(0, -6));
    const bars = day.locator('svg.day rect');
    assert.equal(await bars.count(), 1, `${clock(date)}: one bar`);
    assert.equal(await textOf(bars.locator('title')), `00:00–24:00 ${who.name}`);
    assert.equal(await bars.getAttribute('width'), '1440');
    assert.equal(await textOf(day.locator('ul.shifts > li')), `00:00–24:00 ${who.name} (Primary) Cover this`);
  }
  await screenshot(page, 'desktop-schedule');

  await page.getByRole('link', { name: '← Schedules' }).click();
  await page.waitForURL('**/schedules');
  const scheduleRow = page
    .locator('main ul.list > li')
    .filter({ has: page.getByRole('link', { name: SCHEDULE, exact: true }) });
  assert.equal(await textOf(scheduleRow), `${SCHEDULE} ${onCall.name} on call until ${clock(tomorrow)} UTC`);
  await screenshot(page, 'desktop-schedules');

  // An escalation policy whose first level pages whoever is on call in that schedule.
  await page.getByRole('link', { name: 'Policies', exact: true }).click();
  await page.waitForURL('**/escalation-policies');
  await page.getByText('No escalation policies yet.').waitFor();
  const newPolicy = formWith(page, 'Create policy');
  await newPolicy.getByLabel('Name').fill(POLICY);
  const targets = newPolicy.locator('input[name="level1.target"]');
  // People and schedules, labelled so (the first-start "Admin" whose token set the server
  // up is a person too), as checkboxes: no Ctrl-click needed.
  const choices = (await newPolicy.locator('fieldset.targets label').allTextContents()).map((t) => t.trim());
  assert.equal(await targets.count(), choices.length);
  for (const choice of [`Person: ${ADMIN.name}`, `Person: ${GRACE.name}`, `On call in: ${SCHEDULE}`]) {
    assert.ok(choices.includes(choice), `no "${choice}" among ${JSON.stringify(choices)}`);
  }
  for (const choice of choices) assert.match(choice, /^(Person|On call in): /);
  await newPolicy.getByLabel(`On call in: ${SCHEDULE}`).check();
  // A delay of 0 is refused; what was typed and ticked is still there to correct.
  await newPolicy.getByLabel('escalate after (minutes)').fill('0');
  await newPolicy.getByRole('button', { name: 'Create policy' }).click();
  await page.locator('body > p.error[role=alert]').filter({ hasText: 'the delay must be 1 to 1440 minutes' }).waitFor();
  assert.equal(await newPolicy.getByLabel('Name').inputValue(), POLICY);
  assert.ok(await newPolicy.getByLabel(`On call in: ${SCHEDULE}`).isChecked(), 'the ticked schedule was lost');
  assert.equal(await newPolicy.getByLabel(`Person: ${GRACE.name}`).isChecked(), false);
  assert.equal(await newPolicy.getByLabel('escalate after (minutes)').inputValue(), '0');
  await newPolicy.getByLabel('escalate after (minutes)').fill('15');
  await newPolicy.getByRole('button', { name: 'Create policy' }).click();
  await expectNotice(page, `Created ${POLICY}.`);
  assert.match(pathOf(page), /^\/escalation-policies\/[^/]+$/);
  policyPath = pathOf(page);
  await page.getByRole('heading', { name: POLICY, level: 1 }).waitFor();
  const preview = `If nobody acknowledges: whoever is on call in ${SCHEDULE} now; nobody more after 15 minutes.`;
  assert.equal(await textOf(page.locator('main p.preview')), preview);
  const ticked = page.locator('main input[name="level1.target"]:checked');
  assert.equal(await ticked.count(), 1);
  assert.equal(
    (await page
      .locator('main fieldset.targets label')
      .filter({ has: page.locator('input[name="level1.target"]:checked') })
      .textContent()).trim(),
    `On call in: ${SCHEDULE}`,
  );
  assert.equal(await page.locator('main input[name="level1.delay"]').inputValue(), '15');
  await screenshot(page, 'desktop-policy');

  await page.getByRole('link', { name: '← Escalation policies' }).click();
  await page.waitForURL('**/escalation-policies');
  const policyRow = page
    .locator('main ul.list > li')
    .filter({ has: page.getByRole('link', { name: POLICY, exact: true }) });
  assert.equal(await textOf(policyRow), `${POLICY} ${preview}`);
  await screenshot(page, 'desktop-policies');

  // A service paging through that policy; it comes with an Events API v2 integration.
  await page.getByRole('link', { name: 'Services', exact: true }).click();
  await page.waitForURL('**/services');
  await page.getByText('No services yet.').waitFor();
  const newService = formWith(page, 'Create service');
  await newService.getByLabel('Name').fill(SERVICE.name);
  await newService.getByLabel('Description').fill(SERVICE.description);
  await newService.getByLabel('Escalation policy').selectOption({ label: POLICY });
  await newService.getByRole('button', { name: 'Create service' }).click();
  await expectNotice(page, `Created ${SERVICE.name}. Send it a first event with the curl command below.`);
  assert.match(pathOf(page), /^\/services\/[^/]+$/);
  servicePath = pathOf(page);
  await page.getByRole('heading', { name: SERVICE.name, level: 1 }).waitFor();
  const pagesThrough = page.locator('main p').filter({ hasText: 'Pages through' });
  assert.equal(await textOf(pagesThrough), `Pages through ${POLICY}. Its incidents`);
  assert.equal(await pagesThrough.getByRole('link', { name: POLICY }).getAttribute('href'), policyPath);
  const keys = page.locator('main code.key');
  assert.equal(await keys.count(), 1, 'one integration, one routing key');
  routingKey = await keys.textContent();
  assert.match(routingKey, /^[0-9a-f]{32}$/);
  // What to paste into curl, Alertmanager and Grafana, each with the key.
  for (const [summary, opened] of [
    ['Send a test event with curl', true],
    ['Prometheus Alertmanager (alertmanager.yml)', false],
    ['Grafana contact point', false],
  ]) {
    const details = page.locator('main details').filter({ has: page.getByText(summary, { exact: true }) });
    const settings = details.locator('pre');
    assert.equal(await settings.isVisible(), opened, `${summary}: shown at first`);
    if (!opened) await details.getByText(summary, { exact: true }).click();
    await settings.waitFor({ state: 'visible' });
    const text = await settings.textContent();
    assert.ok(text.includes(routingKey), `${summary}: no routing key in ${text}`);
    assert.ok(text.includes('/v2/enqueue'), `${summary}: no events URL in ${text}`);
  }
  const settingsForm = formWith(page, 'Save');
  assert.equal(await settingsForm.getByLabel('Name').inputValue(), SERVICE.name);
  assert.equal(await settingsForm.getByLabel('Description').inputValue(), SERVICE.description);
  assert.equal(await textOf(settingsForm.locator('select[name=escalation_policy] option:checked')), POLICY);
  await screenshot(page, 'desktop-service');

  await page.getByRole('link', { name: '← Services' }).click();
  await page.waitForURL('**/services');
  const serviceRow = page
    .locator('main ul.list > li')
    .filter({ has: page.getByRole('link', { name: SERVICE.name, exact: true }) });
  assert.equal(await textOf(serviceRow), `${SERVICE.name} ${SERVICE.description} pages through ${POLICY}`);
  await screenshot(page, 'desktop-services');
  assertNoBrowserProblems();
});

test('c. a test event with the routing key appears on the open incident list without a reload', async () => {
  assert.ok(routingKey, 'needs the routing key of story b');
  // The page says where things stood when it was drawn (data-since) and hands that to its
  // event stream, so an incident opened between drawing and listening is announced too.
  // To show that, the stream is held back until the event has been sent.
  const isStream = (url) => url.pathname === '/live/incidents';
  let streamAsked;
  const asked = new Promise((resolveAsked) => (streamAsked = resolveAsked));
  let releaseStream;
  const released = new Promise((resolveReleased) => (releaseStream = resolveReleased));
  await page.route(isStream, async (route) => {
    streamAsked(route.request().url());
    await released;
    await route.continue();
  });
  try {
    await page.getByRole('link', { name: 'Incidents', exact: true }).click();
    await page.waitForURL('**/incidents');
    const row = page.locator('table.incidents tbody tr').filter({ hasText: FIRST.summary });
    await page.getByText('No incidents.').waitFor();
    assert.equal(await row.count(), 0, 'the incident is listed before its event was sent');
    const since = await page.locator('body').getAttribute('data-since');
    assert.match(since, /^\d+-\d+$/);
    assert.equal(new URL(await asked).searchParams.get('since'), since);
    await page.evaluate(() => {
      window.e2eMarker = 'same page';
    });

    await trigger(FIRST);
    const listening = page.waitForResponse((r) => isStream(new URL(r.url())) && r.status() === 200);
    releaseStream();
    await listening;
    await row.waitFor();

    assert.equal(await page.evaluate(() => window.e2eMarker), 'same page', 'the page was reloaded');
    assert.equal(await row.locator('.status').textContent(), 'triggered');
    assert.equal(await textOf(row.locator('td.service')), SERVICE.name, 'the row names the service');
    assert.match(await page.locator('main .counts').textContent(), /^1 triggered · 0 acknowledged$/);
    incidentNumber = Number(await row.locator('td.number').textContent());
    assert.ok(incidentNumber > 0, 'the row starts with the incident number');
    await screenshot(page, 'desktop-incidents');
  } finally {
    releaseStream();
    await page.unroute(isStream);
  }
  assertNoBrowserProblems();
});

test('d. acknowledge, then resolve after confirming', async () => {
  assert.ok(incidentNumber, 'needs the incident of story c');
  await page.getByRole('link', { name: FIRST.summary }).click();
  await page.waitForURL(`**/incidents/${incidentNumber}`);
  await page.getByRole('heading', { name: `#${incidentNumber} ${FIRST.summary}` }).waitFor();
  await waitForStatus(page, 'triggered');
  // The service's policy paged whoever the schedule has on call.
  await pagedThrough(page, rotaNow()[0]);
  await page.getByText('Assigned to nobody', { exact: true }).waitFor();
  await screenshot(page, 'desktop-incident');

  await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await waitForStatus(page, 'acknowledged');
  await page.getByRole('button', { name: 'Unacknowledge' }).waitFor();
  await page.getByText(`Assigned to ${ADMIN.name} · acknowledged by ${ADMIN.name}`, { exact: true }).waitFor();
  await screenshot(page, 'desktop-incident-acknowledged');

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
  await screenshot(page, 'desktop-incident-resolved');
  assertNoBrowserProblems();
});

test("e. covering someone's shift from the schedule's timeline", async () => {
  assert.ok(schedulePath, 'needs the schedule of story b');
  const [onCall, cover] = rotaNow();
  const shiftStart = midnight(new Date());
  const shiftEnd = midnight(new Date(), 1);
  await page.getByRole('link', { name: 'Schedules', exact: true }).click();
  await page.waitForURL('**/schedules');
  await page.getByRole('link', { name: SCHEDULE, exact: true }).click();
  await page.waitForURL(`**${schedulePath}`);
  const shift = page.locator('main ol.days > li').first().locator('ul.shifts > li');
  assert.equal(await textOf(shift), `00:00–24:00 ${onCall.name} (Primary) Cover this`);

  await shift.getByRole('link', { name: 'Cover this' }).click();
  await page.waitForURL((url) => url.pathname === schedulePath && url.searchParams.has('start'));
  assert.equal(new URL(page.url()).hash, '#cover');
  const form = formWith(page, 'Add override');
  // The form holds the whole shift, and is in view.
  assert.equal(await form.getByLabel('From').inputValue(), localField(shiftStart));
  assert.equal(await form.getByLabel('Until').inputValue(), localField(shiftEnd));
  const top = await page.evaluate(() => document.getElementById('cover').getBoundingClientRect().top);
  assert.ok(top > -2 && top < 800, `the override form is not in view (its heading is at ${top} px)`);
  await form.getByLabel('Who covers').selectOption({ label: cover.name });
  assert.equal(await textOf(form.getByLabel('Who covers').locator('option:checked')), cover.name);
  await screenshot(page, 'desktop-schedule-cover');

  await form.getByRole('button', { name: 'Add override' }).click();
  await expectNotice(page, 'Override added.');
  assert.equal(pathOf(page), schedulePath);
  assert.equal(await textOf(page.locator('main p.preview strong')), cover.name);
  // The cover's own turn follows tomorrow: they hand over only after it, to the other.
  const handover = midnight(new Date(), 2);
  assert.equal(
    await textOf(page.locator('main p.preview')),
    `On call now: ${cover.name} until ${clock(handover)}. Next: ${onCall.name} from ${clock(handover)}.`,
  );
  assert.equal(
    await textOf(page.locator('main ol.days > li').first().locator('ul.shifts > li')),
    `00:00–24:00 ${cover.name} (override) Cover this`,
  );
  const bar = page.locator('main svg.day').first().locator('rect');
  assert.match(await bar.getAttribute('class'), /\boverride\b/);
  assert.equal(await textOf(bar.locator('title')), `00:00–24:00 ${cover.name}`);
  const overrides = page.locator('main h2:text-is("Overrides") + ul.list > li');
  assert.equal(await overrides.count(), 1);
  assert.equal(
    await textOf(overrides),
    `${cover.name} from ${clock(shiftStart)} to ${clock(shiftEnd)} Remove`,
  );
  covered = true;
  await screenshot(page, 'desktop-schedule-override');
  assertNoBrowserProblems();
});

test('f. the On call page shows the schedule and the policy', async () => {
  assert.ok(covered, 'needs the override of story e');
  const cover = rotaNow()[1];
  // The covered shift runs into the cover's own turn tomorrow; the handover follows it.
  const handover = midnight(new Date(), 2);
  await page.getByRole('link', { name: 'On call', exact: true }).click();
  await page.waitForURL('**/oncall');
  await page.getByRole('heading', { name: 'On call now' }).waitFor();
  await screenshot(page, 'desktop-oncall');
  const schedule = page.locator('main ul.oncall > li').filter({ hasText: SCHEDULE });
  assert.equal(await schedule.count(), 1);
  assert.match(await textOf(schedule), new RegExp(`^${SCHEDULE}: ${cover.name} until `));
  await page.getByRole('heading', { name: POLICY, level: 3 }).waitFor();
  assert.deepEqual(
    await page.locator(`main h3:text-is("${POLICY}") + ol.oncall > li`).allTextContents(),
    [cover.name],
  );
  assertNoBrowserProblems();
  // Until the handover: a <time> for machines, written for people as on every other page
  // ("Mon 23 Nov 00:00").
  const until = schedule.locator('time');
  assert.equal(Date.parse(await until.getAttribute('datetime')), handover.getTime());
  assert.equal(await textOf(until), clock(handover), 'the On call page writes the time for people');
});

test('g. a phone: every page fits, big buttons, acknowledging a new incident', async () => {
  assert.ok(routingKey && servicePath && policyPath && schedulePath && gracePath, 'needs story b');
  await trigger(SECOND);
  const phone = await newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const tooWide = [];
  try {
    const p = await phone.newPage();
    await p.goto('/');
    assert.equal(pathOf(p), '/login');
    await screenshot(p, 'phone-login');
    tooWide.push(await sidewaysScrolling(p));
    await p.getByLabel('E-mail').fill(ADMIN.email);
    await p.getByLabel('Password').fill(ADMIN.password);
    await p.getByRole('button', { name: 'Log in' }).tap();
    await p.waitForURL((url) => url.pathname === '/');
    await screenshot(p, 'phone-home');
    tooWide.push(await sidewaysScrolling(p));
    await p.getByRole('link', { name: 'All open incidents' }).tap();
    await p.waitForURL('**/incidents');
    const link = p.getByRole('link', { name: SECOND.summary });
    await link.waitFor();
    await screenshot(p, 'phone-incidents');
    tooWide.push(await sidewaysScrolling(p));
    // The filters leave room for the incidents on the first screen; the bulk actions
    // come up, in sight, once an incident is ticked.
    const inSight = async (locator, what) => {
      const at = await locator.boundingBox();
      assert.ok(at && at.y >= 0 && at.y + at.height <= PHONE.height, `${what} is out of sight at ${at?.y} px`);
    };
    await inSight(link, 'the newest incident');
    const bulkAcknowledge = p.getByRole('button', { name: 'Acknowledge selected' });
    assert.equal(await bulkAcknowledge.isVisible(), false, 'bulk actions before anything is ticked');
    const tick = p.getByLabel(/^Select #\d+$/).first();
    await tick.check();
    await inSight(bulkAcknowledge, 'Acknowledge selected');
    await screenshot(p, 'phone-incidents-ticked');
    await tick.uncheck();

    await link.tap();
    await p.waitForURL(/\/incidents\/\d+$/);
    await waitForStatus(p, 'triggered');
    // Paged to whoever is on call now: the one covering the shift since story e.
    if (covered) await pagedThrough(p, rotaNow()[1]);
    await screenshot(p, 'phone-incident');
    tooWide.push(await sidewaysScrolling(p));
    const acknowledge = p.getByRole('button', { name: 'Acknowledge', exact: true });
    await acknowledge.waitFor({ state: 'visible' });
    const box = await acknowledge.boundingBox();
    assert.ok(box.height >= MIN_TAP_PX, `the Acknowledge button is ${box.height} px tall`);

    await acknowledge.tap();
    await waitForStatus(p, 'acknowledged');
    await p.getByText(`Assigned to ${ADMIN.name} · acknowledged by ${ADMIN.name}`, { exact: true }).waitFor();
    await screenshot(p, 'phone-incident-acknowledged');
    tooWide.push(await sidewaysScrolling(p));
    const number = pathOf(p).split('/').pop();
    const { incident } = await api('GET', `/api/v1/incidents/${number}`);
    assert.equal(incident.summary, SECOND.summary);
    assert.equal(incident.status, 'acknowledged');

    // Every other main page, as drawn on the phone.
    for (const [path, name, heading] of [
      ['/services', 'phone-services', 'Services'],
      [servicePath, 'phone-service', SERVICE.name],
      ['/escalation-policies', 'phone-policies', 'Escalation policies'],
      [policyPath, 'phone-policy', POLICY],
      ['/schedules', 'phone-schedules', 'Schedules'],
      [schedulePath, 'phone-schedule', SCHEDULE],
      ['/people', 'phone-people', 'People'],
      [gracePath, 'phone-person', GRACE.name],
      ['/profile', 'phone-profile', ADMIN.name],
      ['/oncall', 'phone-oncall', 'On call now'],
    ]) {
      await p.goto(path);
      await p.getByRole('heading', { name: heading, level: 1, exact: true }).waitFor();
      await screenshot(p, name);
      tooWide.push(await sidewaysScrolling(p));
    }
  } finally {
    await phone.close();
  }
  assert.deepEqual(tooWide.filter(Boolean), [], 'pages scroll sideways on a phone');
  assertNoBrowserProblems();
});

test('h. the keyboard alone acknowledges an incident, in the dark theme, with readable contrast', async () => {
  assert.ok(routingKey, 'needs story b');
  const THIRD = { dedup: 'mem/db02', summary: 'Memory 97% on db02' };
  await trigger(THIRD);
  const dark = await newContext({ colorScheme: 'dark' });
  try {
    const p = await dark.newPage();
    await p.goto('/login');
    await p.getByLabel('E-mail').fill(ADMIN.email);
    await p.getByLabel('Password').fill(ADMIN.password);
    await p.keyboard.press('Enter');
    await p.waitForURL((url) => url.pathname === '/');
    await p.goto('/incidents');
    await p.getByRole('link', { name: THIRD.summary }).waitFor();

    // The system's dark theme is followed, and text stands out from its background
    // (WCAG's contrast ratio; 4.5 is the minimum for body text, 7 is AAA, asked of text,
    // links and status words).
    const colours = await p.evaluate(() => {
      const luminance = (rgb) => {
        const [r, g, b] = rgb.match(/\d+/g).slice(0, 3).map((v) => {
          const c = Number(v) / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
      };
      const body = getComputedStyle(document.body);
      const link = getComputedStyle(document.querySelector('main a'));
      const statuses = {};
      for (const word of document.querySelectorAll('main .status')) {
        statuses[word.textContent] = ratio(getComputedStyle(word).color, body.backgroundColor);
      }
      return {
        background: luminance(body.backgroundColor),
        text: ratio(body.color, body.backgroundColor),
        link: ratio(link.color, body.backgroundColor),
        statuses,
      };
    });
    assert.ok(colours.background < 0.05, `the background is light (luminance ${colours.background})`);
    assert.ok(colours.text >= 7, `body text contrast ${colours.text.toFixed(1)}`);
    assert.ok(colours.link >= 7, `link contrast ${colours.link.toFixed(1)}`);
    for (const [status, ratio] of Object.entries(colours.statuses)) {
      assert.ok(ratio >= 7, `the status word ${status} has contrast ${ratio.toFixed(1)}`);
    }
    await screenshot(p, 'desktop-dark-incidents');

    // Tab to the incident's link and open it with Enter; tab to Acknowledge and press it.
    const tabTo = async (matches, what) => {
      for (let i = 0; i < 60; i += 1) {
        await p.keyboard.press('Tab');
        if (await p.evaluate(matches)) return;
      }
      assert.fail(`Tab never reached ${what}`);
    };
    await tabTo(() => document.activeElement?.textContent === 'Memory 97% on db02', 'the incident');
    await p.keyboard.press('Enter');
    await p.waitForURL(/\/incidents\/\d+$/);
    await waitForStatus(p, 'triggered');
    await tabTo(() => document.activeElement?.textContent === 'Acknowledge', 'Acknowledge');
    // Where the keyboard is can be seen.
    const outline = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused button shows no outline');
    await p.keyboard.press('Enter');
    await waitForStatus(p, 'acknowledged');
    await screenshot(p, 'desktop-dark-incident');

    // The shortcuts: from the list, j reaches the newest incident and a acknowledges it,
    // two key presses (five at most are allowed).
    // The shortcuts work once the page's script has run (it shows their list).
    const shortcutsReady = (page) =>
      page.waitForFunction(() => document.getElementById('keys')?.hidden === false);
    const statusOf = async (summary) =>
      (await api('GET', '/api/v1/incidents')).incidents.find((i) => i.summary === summary)?.status;
    const NEWEST = { dedup: 'mem/db03', summary: 'Memory 98% on db03' };
    await trigger(NEWEST);
    await p.goto('/incidents');
    await p.getByRole('link', { name: NEWEST.summary }).waitFor();
    await shortcutsReady(p);
    await p.keyboard.press('j');
    assert.equal(await p.evaluate(() => document.activeElement?.textContent), NEWEST.summary);
    await p.keyboard.press('a');
    await expectNotice(p, 'Acknowledged 1 incident');
    assert.equal(await statusOf(NEWEST.summary), 'acknowledged');

    // j, Enter, a: the same through the incident's page.
    const NEXT = { dedup: 'mem/db04', summary: 'Memory 99% on db04' };
    await trigger(NEXT);
    await p.goto('/incidents');
    await p.getByRole('link', { name: NEXT.summary }).waitFor();
    await shortcutsReady(p);
    await p.keyboard.press('j');
    await p.keyboard.press('Enter');
    await p.waitForURL(/\/incidents\/\d+$/);
    await waitForStatus(p, 'triggered');
    await p.keyboard.press('a');
    await waitForStatus(p, 'acknowledged');

    // ? opens the list of shortcuts, where they can be turned off; typing in a field is
    // never taken for one.
    await p.goto('/incidents');
    await shortcutsReady(p);
    await p.keyboard.press('?');
    const use = p.getByLabel('Use these single-key shortcuts in this browser');
    assert.ok(await use.isVisible(), 'the list of shortcuts is open');
    await use.uncheck();
    await p.locator('main h1').click();
    await p.keyboard.press('j');
    assert.equal(await p.evaluate(() => Boolean(document.activeElement?.closest('[data-number]'))), false, 'j still moved');
    await use.check();
    await p.getByRole('searchbox', { name: 'Search' }).focus();
    await p.keyboard.press('j');
    assert.equal(await p.getByRole('searchbox', { name: 'Search' }).inputValue(), 'j');
  } finally {
    await dark.close();
  }
  assertNoBrowserProblems();
});

test('i. woken at 3 a.m.: from the page\'s link, logged out, to acknowledged in one tap after logging in', async () => {
  assert.ok(routingKey, 'needs story b');
  const sizes = [
    ['phone', { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
    ['desktop', { viewport: { width: 1440, height: 900 } }],
  ];
  for (const [name, options] of sizes) {
    // A summary as long as monitoring tools send them.
    const summary = `${name}: ` + 'replica lag over threshold on db-cluster-7 shard; '.repeat(18).slice(0, 900);
    await trigger({ dedup: `lag/${name}`, summary });
    const { incidents } = await api('GET', '/api/v1/incidents?status=triggered');
    const number = incidents.find((i) => i.summary === summary).number;
    const context = await newContext(options);
    try {
      const p = await context.newPage();
      await p.goto(`/incidents/${number}`);
      assert.equal(pathOf(p), '/login');
      await p.getByLabel('E-mail').fill(ADMIN.email);
      await p.getByLabel('Password').fill(ADMIN.password);
      await p.getByRole('button', { name: 'Log in' }).click();
      await p.waitForURL(`**/incidents/${number}`);
      await waitForStatus(p, 'triggered');
      await screenshot(p, `${name}-3am-incident`);
      // What a first load fetches (the page, its stylesheet and scripts) stays small.
      const assets = await p.evaluate(() => [
        location.pathname,
        ...[...document.querySelectorAll('link[rel=stylesheet], script[src]')].map((e) => e.href || e.src),
      ]);
      let bytes = 0;
      for (const asset of assets) bytes += (await (await context.request.get(asset)).body()).length;
      assert.ok(bytes > 10 * 1024 && bytes < 40 * 1024, `a first load is ${bytes} bytes`);

      // Acknowledge and Resolve are in sight without scrolling, and look different.
      const height = options.viewport.height;
      const acknowledge = p.getByRole('button', { name: 'Acknowledge', exact: true });
      const resolve = p.getByRole('button', { name: 'Resolve', exact: true });
      // The page may be redrawn by a live update between two looks: look again then.
      const boxOf = async (locator) => {
        for (let tries = 0; tries < 20; tries += 1) {
          await locator.waitFor({ state: 'visible' });
          const box = await locator.boundingBox();
          if (box) return box;
        }
        throw new Error('the button never stayed in place long enough to be measured');
      };
      for (const [button, what] of [[acknowledge, 'Acknowledge'], [resolve, 'Resolve']]) {
        const box = await boxOf(button);
        assert.ok(box.y >= 0 && box.y + box.height <= height, `${what} is out of sight at ${box.y} px`);
        assert.ok(box.height >= MIN_TAP_PX, `${what} is ${box.height} px tall`);
      }
      const colour = (l) => l.evaluate((e) => getComputedStyle(e).backgroundColor);
      assert.notEqual(await colour(acknowledge), await colour(resolve), 'the two look the same');
      // The heading is clamped; the whole summary is a tap away.
      const lines = await p.locator('main h1').evaluate(
        (h) => h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight || '1'),
      );
      assert.ok(lines <= 3.2 || Number.isNaN(lines), `the heading takes ${lines} lines`);
      await p.getByText('Show the whole summary').waitFor();

      // One tap: acknowledged, confirmed in sight, and the page loaded once (live updates
      // for other incidents' changes may fetch it again in the background).
      const fetched = [];
      p.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (path === `/incidents/${number}` && r.method() === 'GET' && r.resourceType() === 'document') {
          fetched.push(r.url());
        }
      });
      await (options.hasTouch ? acknowledge.tap() : acknowledge.click());
      await waitForStatus(p, 'acknowledged');
      const toast = p.locator('p.toast[role=status]');
      assert.equal((await toast.textContent()).trim(), `Acknowledged #${number}`);
      const box = await toast.boundingBox();
      assert.ok(box && box.y >= 0 && box.y < height, 'the confirmation is out of sight');
      await p.waitForTimeout(1500);
      assert.equal(fetched.length, 1, `the page was loaded ${fetched.length} times`);
      await screenshot(p, `${name}-3am-acknowledged`);
      const { incident } = await api('GET', `/api/v1/incidents/${number}`);
      assert.equal(incident.status, 'acknowledged');
    } finally {
      await context.close();
    }
  }
  assertNoBrowserProblems();
});

test('j. a live change that comes while a filter has focus waits, and is shown on request', async () => {
  assert.ok(routingKey, 'needs story b');
  await page.goto('/incidents');
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.focus();
  await search.type('db');
  const NEW = { dedup: 'held/1', summary: 'Held while typing on db03' };
  await trigger(NEW);
  // One change or more (the engine's paging changes the incident too).
  const show = page.getByRole('button', { name: /^\d+ new changes? — show$/ });
  await show.waitFor();
  assert.equal(await search.inputValue(), 'db', 'what was typed is kept');
  const row = page.locator('table.incidents tbody tr').filter({ hasText: NEW.summary });
  assert.equal(await row.count(), 0, 'the list changed under the reader');
  assert.equal(await page.locator('#held').getAttribute('aria-live'), 'polite');
  await show.click();
  await row.waitFor();
  assert.match(await row.getAttribute('class'), /\bfresh\b/, 'the new row is marked');
  await screenshot(page, 'desktop-held-change');
  assertNoBrowserProblems();
});

test('k. every incident matching a filter acknowledged at once', async () => {
  assert.ok(routingKey, 'needs story b');
  for (const n of [1, 2, 3]) await trigger({ dedup: `bulk/${n}`, summary: `Queue backlog ${n} on mq01` });
  await page.goto('/incidents');
  await page.getByRole('searchbox', { name: 'Search' }).fill('queue backlog');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL((url) => url.searchParams.get('q') === 'queue backlog');
  assert.equal(await page.locator('table.incidents tbody tr').count(), 3);
  await page.getByLabel('All 3 matching this filter').check();
  await page.getByRole('button', { name: 'Acknowledge selected' }).click();
  await expectNotice(page, 'Acknowledged 3 incidents');
  assert.equal(new URL(page.url()).searchParams.get('q'), 'queue backlog', 'back to the same filter');
  const { incidents } = await api('GET', '/api/v1/incidents?status=acknowledged');
  assert.equal(incidents.filter((i) => i.summary.startsWith('Queue backlog')).length, 3);
  await screenshot(page, 'desktop-bulk-acknowledged');
  assertNoBrowserProblems();
});

test('l. axe-core finds nothing on any page, light and dark, phone and desktop', async () => {
  assert.ok(servicePath && policyPath && schedulePath && gracePath, 'needs story b');
  const axeSource = await readFile(join(REPO, 'e2e/node_modules/axe-core/axe.min.js'), 'utf8');
  const { incidents } = await api('GET', '/api/v1/incidents');
  // A runbook in Markdown, shown first on the incident's page and on a page of its own.
  const serviceId = incidents[0].service_id;
  const { runbook } = await api('POST', `/api/v1/services/${serviceId}/runbooks`, {
    title: 'When it pages',
    markdown: '# First\n\n1. Look at `journalctl -u app`\n2. See [the dashboard](https://grafana.example/d/app)\n\n'
      + '## Then\n\n| Check | Command |\n|---|---|\n| Disk | `df -h` |\n\n```\nsystemctl restart app\n```\n',
  });
  // A postmortem (drafted already, or started here).
  let { postmortems } = await api('GET', '/api/v1/postmortems');
  if (postmortems.length === 0) {
    await api('POST', '/api/v1/postmortems', { incidents: [String(incidents[0].number)] });
    ({ postmortems } = await api('GET', '/api/v1/postmortems'));
  }
  const pages = [
    '/postmortems', `/postmortems/${postmortems[0].id}`, '/reports', '/settings',
    '/', '/incidents', `/incidents/${incidents[0].number}`, '/oncall', '/services', servicePath,
    '/escalation-policies', policyPath, '/schedules', schedulePath, '/people', gracePath, '/profile', '/status-pages',
    `/services/${serviceId}/runbooks/${runbook.id}`, `/services/${serviceId}/runbooks/new`,
  ];
  const found = [];
  for (const colorScheme of ['light', 'dark']) {
    for (const [size, options] of [
      ['phone', { viewport: PHONE, isMobile: true, hasTouch: true }],
      ['desktop', { viewport: { width: 1440, height: 900 } }],
    ]) {
      // Logged out, then with the desktop's session (logging in again and again would
      // meet the log-in rate limit).
      const loggedOut = await newContext({ colorScheme, ...options });
      const context = await newContext({ colorScheme, ...options, storageState: await desktop.storageState() });
      try {
        const check = async (p, path) => {
          // Evaluated over the DevTools protocol: the pages' Content-Security-Policy,
          // which allows no inline script, is not loosened for it.
          await p.evaluate(axeSource);
          const result = await p.evaluate(() =>
            window.axe.run(document, {
              runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
            }),
          );
          for (const v of result.violations) {
            found.push(`${colorScheme} ${size} ${path}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
          }
        };
        const out = await loggedOut.newPage();
        await out.goto('/login');
        await check(out, '/login');
        const p = await context.newPage();
        for (const path of pages) {
          await p.goto(path);
          await p.locator('main h1').first().waitFor();
          await check(p, path);
        }
      } finally {
        await loggedOut.close();
        await context.close();
      }
    }
  }
  assert.deepEqual(found, [], 'axe-core found problems');
  assertNoBrowserProblems();
});

test('m. the public status page, with an incident and maintenance, on a phone and a desktop', async () => {
  assert.ok(servicePath, 'needs story b');
  await api('POST', '/api/v1/status-pages', { slug: 'acme', name: 'Acme', time_zone: 'Europe/London' });
  await api('POST', '/api/v1/status-pages/acme/components', { name: 'Checkout API', service: SERVICE.name });
  await api('POST', '/api/v1/status-pages/acme/components', { name: 'Regions', group: true });
  await api('POST', '/api/v1/status-pages/acme/components', { name: 'EU', group_id: 'Regions' });
  const opened = await api('POST', '/api/v1/status-pages/acme/incidents', {
    name: 'Checkout errors for some card payments',
    body: 'Some payments fail with a timeout. We are looking into it.',
    components: { 'Checkout API': 'partial_outage' },
  });
  await api('POST', `/api/v1/status-pages/acme/incidents/${opened.incident.id}/updates`, {
    status: 'identified',
    body: 'A slow database query <script>alert(1)</script> holds the payment workers.\nA fix is being deployed.',
  });
  const start = new Date(Date.now() + 24 * 3600 * 1000);
  await api('POST', '/api/v1/status-pages/acme/incidents', {
    name: 'Database upgrade',
    body: 'Checkout may be slow for a few minutes while the database is upgraded.',
    components: { 'Checkout API': 'operational' },
    scheduled_for: start.toISOString(),
    scheduled_until: new Date(start.getTime() + 3600 * 1000).toISOString(),
  });
  const axeSource = await readFile(join(REPO, 'e2e/node_modules/axe-core/axe.min.js'), 'utf8');
  const found = [];
  const tooWide = [];
  for (const colorScheme of ['light', 'dark']) {
    for (const [size, options] of [
      ['phone', { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
      ['desktop', { viewport: { width: 1440, height: 900 } }],
    ]) {
      // Nobody logged in: the page is public.
      const context = await newContext({ colorScheme, ...options });
      try {
        const p = await context.newPage();
        await p.goto('/status/acme');
        await p.getByText('Partial System Outage').waitFor();
        await p.getByText('Checkout errors for some card payments').waitFor();
        await p.getByText('Database upgrade').waitFor();
        // Markup in an update is shown as written, never run.
        await p.getByText('<script>alert(1)</script>', { exact: false }).waitFor();
        assert.equal(await p.locator('script').count(), 0);
        if (size === 'phone') tooWide.push(await sidewaysScrolling(p));
        await screenshot(p, `${size}-status-page${colorScheme === 'dark' ? '-dark' : ''}`);
        await p.evaluate(axeSource);
        const result = await p.evaluate(() =>
          window.axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
          }),
        );
        for (const v of result.violations) {
          found.push(`${colorScheme} ${size}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
        }
      } finally {
        await context.close();
      }
    }
  }
  assert.deepEqual(tooWide.filter(Boolean), [], 'the status page scrolls sideways');
  assert.deepEqual(found, [], 'axe-core found problems on the status page');
  assertNoBrowserProblems();
});
