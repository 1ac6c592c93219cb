// Test harness for the board: a real Claude dir in a temp folder, the real `flow` binary on
// an ephemeral port, and Debian's Chromium driven by playwright-core (never a downloaded
// browser). Every page records console errors so each test can assert there were none.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
export const artifacts = join(repo, 'web', 'test-results');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, 'target');
const FLOW_BIN = process.env.FLOW_BIN ?? join(targetDir, 'debug', 'flow');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A temporary `~/.claude` with helpers that write files the way Claude Code does. */
export class Tree {
  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'flow-ui-'));
  }
  path(rel) { return join(this.root, rel); }
  write(rel, text) {
    mkdirSync(dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), text);
    return this;
  }
  task(session, task) {
    return this.write(`tasks/${session}/${task.id}.json`, JSON.stringify(task, null, 2));
  }
  transcript(project, session, lines) {
    return this.write(`projects/${project}/${session}.jsonl`, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }
  age(rel, daysAgo) {
    const t = new Date(Date.now() - daysAgo * 86400_000);
    utimesSync(this.path(rel), t, t);
    return this;
  }
  remove() { rmSync(this.root, { recursive: true, force: true }); }
}

/** Starts `flow` over `tree` (plus any extra CLI `args`); resolves to { url, stop }, `stop`
 * sending SIGTERM and waiting for the exit. */
export async function startFlow(tree, { args = [] } = {}) {
  const child = spawn(FLOW_BIN, ['--dir', tree.root, '--port', '0', '--data-dir', tree.path('flow-data'), ...args], {
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'warn,flow_server=info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr });
  const url = await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`flow exited with ${code} before listening`)));
    lines.on('line', (line) => {
      const m = /flow is listening.*?(http:\/\/[\d.:]+)/.exec(line);
      if (m) ok(m[1]);
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that collects console errors and uncaught exceptions into `page.errors`. `init`, if
 * given, runs in the page before any of its scripts (to stand in for a browser API). */
export async function openBoard(browser, url, hash = '', { init } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  // A failing wait should fail fast, not after Playwright's default 30 s.
  page.setDefaultTimeout(5000);
  page.errors = [];
  // Chromium also logs every 4xx/5xx answer as a console error; these record which ones.
  page.failedLoads = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    page.errors.push(msg.text());
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
    const where = msg.location().url;
    if (failed) page.failedLoads.push(`${failed[1]} ${where ? new URL(where).pathname : ''}`);
  });
  page.on('pageerror', (err) => page.errors.push(String(err)));
  if (init) await page.addInitScript(init);
  await page.goto(`${url}/${hash}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#conn[data-state="live"]');
  return page;
}

/** Runs `fn(page, flow)` on a board over `tree`, then asserts the page logged no console
 * error, and closes the page, stops the server and removes the tree whatever happened. */
export async function withBoard(browser, tree, fn, { hash = '', init } = {}) {
  const flow = await startFlow(tree);
  const page = await openBoard(browser, flow.url, hash, { init });
  try {
    await fn(page, flow);
    assert.deepEqual(page.errors, [], 'no console errors');
  } finally {
    await page.context().close();
    await flow.stop();
    tree.remove();
  }
}

/**
 * A refusal the test provokes is a real 4xx answer, and Chromium logs each one as a console
 * error. Those must be exactly the `expected` ones ("409 /api/features/3"); they are then taken
 * out of `page.errors`, so any other error (a script error, an unexpected 4xx) still fails.
 */
export function expectRefused(page, ...expected) {
  assert.deepEqual(page.failedLoads, expected);
  page.errors = page.errors.filter((e) => !e.startsWith('Failed to load resource:'));
  page.failedLoads = [];
}

export function task(id, status, extra = {}) {
  return { id: String(id), subject: `Task ${id}`, description: '', activeForm: `Working on ${id}`, status, blocks: [], blockedBy: [], ...extra };
}

/** One JSON API call from outside the browser (like an agent or script): { status, body }. */
export async function request(url, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** psql: on PATH, else Debian's newest server's (FLOW_TEST_PG_BIN, from scripts/lib/postgres.sh). */
function psql() {
  const dirs = [process.env.FLOW_TEST_PG_BIN, ...(process.env.PATH ?? '').split(':')];
  try {
    dirs.push(...readdirSync('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch { /* no server installed here */ }
  const found = dirs.filter(Boolean).map((d) => join(d, 'psql')).find((p) => existsSync(p));
  if (!found) throw new Error('psql not found (install postgresql-client)');
  return found;
}

/**
 * A fresh, empty database on the throwaway PostgreSQL server `./scripts/test` starts
 * (FLOW_TEST_POSTGRES is its admin URL); its URL, or null when there is no server (a test then
 * skips, except under CI, where that is a failure, as in the Rust suites).
 */
export function freshPostgres(prefix) {
  const admin = process.env.FLOW_TEST_POSTGRES;
  if (!admin) {
    if (process.env.CI) throw new Error('FLOW_TEST_POSTGRES is not set under CI: run the suite through ./scripts/test');
    return null;
  }
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  execFileSync(psql(), [admin, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
