// Which agent is working and which one waits for the user, in real Chromium against the real
// server: the live registry (`sessions/<pid>.json`, counted only while its pid runs) drives the
// state badges, Needs you, the page title and the notification; Activity lists sessions with or
// without a task list; the empty board explains the task tools' environment variable. A
// `sleep` child stands in for a Claude Code process: killing it ends the session.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tree, launch, task, artifacts, withBoard as withBoardOn } from './helpers.mjs';

const S1 = 'aaaaaaaa-1111-4111-8111-111111111111';
const S2 = 'bbbbbbbb-2222-4222-8222-222222222222';
const T = 'dddddddd-4444-4444-8444-444444444444';
const U = 'eeeeeeee-5555-4555-8555-555555555555';
let browser;
const processes = [];

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await launch();
});
after(async () => {
  for (const child of processes) child.kill();
  await browser?.close();
});

/** A stand-in for a running Claude Code process. */
function fakeProcess() {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  processes.push(child);
  return child;
}

async function end(child) {
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill();
  await exited;
}

/** Writes the registry file Claude Code keeps for a running session. */
function register(tree, child, sessionId, status, waitingFor) {
  const now = Date.now();
  tree.write(`sessions/${child.pid}.json`, JSON.stringify({
    pid: child.pid, sessionId, cwd: '/home/dev/app', startedAt: now, kind: 'interactive', status, waitingFor, updatedAt: now,
  }));
}

/** A transcript-only session: Claude Code ran it without the task tools. */
function transcriptOnly(tree, sid, title) {
  return tree.transcript('-home-dev-tool', sid, [
    { type: 'user', cwd: '/home/dev/tool', sessionId: sid, gitBranch: 'feature-x', timestamp: new Date().toISOString() },
    { type: 'custom-title', customTitle: title },
  ]);
}

/** Records notifications instead of showing them (headless Chromium has no notification UI). */
function fakeNotifications() {
  window.notes = [];
  window.Notification = class {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, options) { window.notes.push({ title, body: options?.body }); }
  };
}

const withBoard = (tree, fn, options) => withBoardOn(browser, tree, fn, options);


const sidebarIds = (page) => page.locator('#session-list .session').evaluateAll((els) => els.map((e) => e.dataset.sessionId));
const sessionIn = (page, sid, state) => page.locator(`#session-list .session[data-session-id="${sid}"][data-state="${state}"]`);

test('a session turning waiting shows its badge, moves into Needs you and the title, and notifies', async () => {
  const tree = new Tree();
  tree.task(S1, task(1, 'in_progress', { subject: 'Write the API', activeForm: 'Writing the API' }))
    .task(S2, task(1, 'pending'))
    .transcript('-home-dev-app', S1, [{ type: 'user', cwd: '/home/dev/app' }, { type: 'custom-title', customTitle: 'API work' }]);
  tree.age(`tasks/${S1}/1.json`, 0.5);
  const agent = fakeProcess();
  register(tree, agent, S1, 'busy');
  await withBoard(tree, async (page) => {
    await sessionIn(page, S1, 'busy').waitFor();
    assert.equal(await sessionIn(page, S1, 'busy').locator('.agent-state').textContent(), 'busy');
    assert.deepEqual(await sidebarIds(page), [S2, S1], 'newest first while nobody waits');
    assert.equal(await page.title(), 'Flow');
    assert.equal(await page.locator('#needs-you-count').textContent(), '0');
    assert.equal(await page.locator('#live-feed li:not(.stale)', { hasText: 'Writing the API' }).count(), 1, 'live work is current work');
    await page.click(`.session[data-session-id="${S1}"]`);
    assert.equal(await page.locator('.card[data-task-id="1"] .badge.stale').count(), 0);
    await page.click('#notify');

    register(tree, agent, S1, 'waiting', 'approve Bash(npm test)');
    await sessionIn(page, S1, 'waiting').waitFor();
    await page.waitForFunction(() => document.title === '(1) Flow');
    assert.deepEqual(await sidebarIds(page), [S1, S2], 'waiting sessions come first');
    assert.equal(await page.locator('#needs-you-count').textContent(), '1');
    assert.equal(await sessionIn(page, S1, 'waiting').locator('.waiting-for').textContent(), 'approve Bash(npm test)');
    assert.match(await page.locator('#session-status').textContent(), /waiting.*approve Bash\(npm test\)/);
    await page.waitForFunction(() => window.notes.length === 1);
    assert.deepEqual(await page.evaluate(() => window.notes), [{ title: 'Waiting: API work', body: 'approve Bash(npm test)' }]);
    await page.check('#needs-you');
    assert.deepEqual(await sidebarIds(page), [S1], 'Needs you lists only the waiting ones');
    await page.screenshot({ path: join(artifacts, 'agents-waiting.png') });

    await end(agent);
    await page.locator(`#session-list .session[data-session-id="${S1}"]`).waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.title === 'Flow');
    assert.equal(await page.locator('#needs-you-count').textContent(), '0');
    await page.uncheck('#needs-you');
    assert.equal(await page.locator(`.session[data-session-id="${S1}"] .agent-state`).textContent(), 'ended');
    assert.equal(await page.locator(`.session[data-session-id="${S1}"] .dot`).count(), 0, 'stale work is not active');
    assert.equal(await page.locator('.card[data-task-id="1"] .badge.stale').count(), 1, 'its in-progress card is marked stale');
    assert.equal(await page.locator('#live-feed li.idle').textContent(), 'Nothing in progress');
    assert.equal(await page.locator('#live-feed li.stale', { hasText: 'Writing the API' }).count(), 1, 'listed apart, as stopped');
    assert.equal(await page.evaluate(() => window.notes.length), 1, 'ending is not a reason to notify');
  }, { init: fakeNotifications });
});

test('Activity lists sessions without a task list and follows them live', async () => {
  const tree = new Tree();
  tree.task(S1, task(1, 'pending'))
    .transcript('-home-dev-app', S1, [{ type: 'user', cwd: '/home/dev/app' }, { type: 'custom-title', customTitle: 'API work' }]);
  transcriptOnly(tree, T, 'Transcript only');
  // The registry folder exists before the server starts, as it does once Claude Code has run
  // on the machine (a folder that appears later is the server's own test).
  mkdirSync(tree.path('sessions'));
  await withBoard(tree, async (page) => {
    const row = (sid) => page.locator(`.activity-item[data-session-id="${sid}"]`);
    await row(T).waitFor();
    assert.equal(await page.locator('#view-title').textContent(), 'Activity');
    assert.equal(await row(T).locator('.label').textContent(), 'Transcript only');
    assert.equal(await row(T).locator('.no-list').count(), 1, 'marked as having no task list');
    assert.equal(await row(T).getAttribute('data-state'), 'ended');
    assert.match(await row(T).locator('.sub').textContent(), /^tool · feature-x · just now$/);
    assert.equal(await row(S1).locator('.progress-text').textContent(), '0/1 tasks');

    const agent = fakeProcess();
    register(tree, agent, T, 'busy');
    await page.locator(`.activity-item[data-session-id="${T}"][data-state="busy"]`).waitFor();
    const other = fakeProcess();
    register(tree, other, U, 'waiting', 'which port?');
    await page.locator(`.activity-item[data-session-id="${U}"][data-state="waiting"]`).waitFor();
    assert.equal(await page.locator('.activity-item').first().getAttribute('data-session-id'), U, 'waiting ones first');
    assert.equal(await row(U).locator('.waiting-for').textContent(), 'which port?');
    await page.waitForFunction(() => document.title === '(1) Flow');
    assert.equal(await page.locator(`#session-list .session[data-session-id="${U}"] .no-list`).count(), 1,
      'a waiting session without a task list shows in the sidebar too');
    await page.screenshot({ path: join(artifacts, 'activity.png') });

    await row(T).click();
    assert.match(await page.locator('#activity-detail').textContent(), /Transcript only.*keeps no task list/s);
    assert.match(page.url(), new RegExp(`#/activity/${T}$`));
    await row(S1).click();
    assert.match(page.url(), new RegExp(`#/session/${S1}$`), 'a session with a task list opens on the board');
    await page.locator('.card[data-task-id="1"]').waitFor();
  }, { hash: '#/activity' });
});

test('sessions without task lists get an empty board that explains CLAUDE_CODE_ENABLE_TODO_TOOLS', async () => {
  const tree = new Tree();
  transcriptOnly(tree, T, 'Transcript only');
  await withBoard(tree, async (page) => {
    const empty = page.locator('#empty');
    assert.equal(await empty.isVisible(), true);
    assert.match(await empty.textContent(), /Recent sessions, but no task lists/);
    assert.match(await empty.textContent(), /CLAUDE_CODE_ENABLE_TODO_TOOLS=1/);
    await page.screenshot({ path: join(artifacts, 'no-task-lists.png') });
    await page.click('#empty-activity');
    await page.locator(`.activity-item[data-session-id="${T}"]`).waitFor();
    tree.task(T, task(1, 'pending', { subject: 'Now with tasks' }));
    await page.locator(`#session-list .session[data-session-id="${T}"]`).waitFor();
  });
});

test('the session header counts subagents and lists them on request', async () => {
  const tree = new Tree();
  tree.task(S1, task(1, 'pending'))
    .transcript('-home-dev-app', S1, [{ type: 'user', cwd: '/home/dev/app', sessionId: S1, timestamp: new Date().toISOString() }])
    .write(`projects/-home-dev-app/${S1}/subagents/agent-a1b2.jsonl`, `${JSON.stringify({
      type: 'user', isSidechain: true, agentId: 'a1b2', sessionId: S1, cwd: '/home/dev/app', timestamp: new Date().toISOString(),
    })}\n`)
    .write(`projects/-home-dev-app/${S1}/subagents/agent-a1b2.meta.json`, JSON.stringify({ agentType: 'Explore', description: 'Find the parser' }));
  await withBoard(tree, async (page) => {
    assert.match(await page.locator('#agents-toggle').textContent(), /^\d\/1 subagent running$/);
    assert.equal(await page.locator('#agents-panel').isHidden(), true);
    await page.click('#agents-toggle');
    const agent = page.locator('#agents-panel li[data-agent-id="a1b2"]');
    await agent.waitFor();
    assert.match(await agent.textContent(), /Explore.*Find the parser/);
    await page.click('#agents-toggle');
    assert.equal(await page.locator('#agents-panel').isHidden(), true);
  }, { hash: `#/session/${S1}` });
});
