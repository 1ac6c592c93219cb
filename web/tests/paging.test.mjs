// What the board asks the server for, and what it leaves alone on screen, in real Chromium:
// sessions a page at a time, one session's tasks when only that session changed, and cards that
// are kept (not rebuilt) when another card changes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tree, startFlow, launch, openBoard, task } from './helpers.mjs';

const S1 = 'aaaaaaaa-1111-4111-8111-111111111111';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** 25 quiet sessions (s-00 is the oldest, two days old), plus S1 with work in progress. */
function manySessions() {
  const tree = new Tree();
  for (let i = 0; i < 25; i++) tree.task(`s-${String(i).padStart(2, '0')}`, task(1, 'pending', { subject: `Quiet ${i}` }));
  tree.age('tasks/s-00/1.json', 2);
  for (let i = 1; i <= 4; i++) tree.task(S1, task(i, i === 2 ? 'in_progress' : 'pending'));
  return tree;
}

async function withPage(tree, fn, hash = '') {
  const flow = await startFlow(tree);
  const page = await openBoard(browser, flow.url, hash);
  page.apiCalls = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/') && url.pathname !== '/api/events') page.apiCalls.push(url.pathname + url.search);
  });
  try {
    await fn(page);
    assert.deepEqual(page.errors, [], 'no console errors');
  } finally {
    await page.context().close();
    await flow.stop();
    tree.remove();
  }
}

test('sessions come a page at a time, and "More sessions" asks for a larger page', async () => {
  await withPage(manySessions(), async (page) => {
    assert.equal(await page.locator('#session-list .session').count(), 20);
    assert.equal(await page.locator('.session[data-session-id="s-00"]').count(), 0, 'the oldest is beyond the page');
    await page.click('#more-sessions');
    await page.locator('.session[data-session-id="s-00"]').waitFor();
    assert.equal(await page.locator('#limit').inputValue(), '50');
    assert.deepEqual(page.apiCalls, ['/api/sessions?limit=50']);
    assert.equal(await page.locator('#more-sessions').isHidden(), true, 'the whole list is in');
  });
});

test('a change in a session the page has not read reads that session only', async () => {
  const tree = manySessions();
  await withPage(tree, async (page) => {
    tree.task('s-05', task(2, 'in_progress', { activeForm: 'Waking up' }));
    await page.locator('#live-feed li', { hasText: 'Waking up' }).waitFor();
    assert.deepEqual(page.apiCalls, ['/api/sessions/s-05']);
    await page.click('.session[data-session-id="s-05"]');
    assert.deepEqual(await page.locator('.card').evaluateAll((els) => els.map((e) => e.dataset.taskId)), ['1', '2']);
    assert.deepEqual(page.apiCalls, ['/api/sessions/s-05'], 'opening it needs no other read');
  });
});

test('a live change rebuilds its own card and keeps the others', async () => {
  const tree = manySessions();
  await withPage(tree, async (page) => {
    await page.click(`.session[data-session-id="${S1}"]`);
    await page.evaluate(() => { for (const card of document.querySelectorAll('.card')) card.dataset.mark = 'old'; });
    tree.task(S1, task(3, 'completed'));
    await page.locator('.column[data-status="completed"] .card[data-task-id="3"]').waitFor();
    const marks = await page.locator('.card').evaluateAll((els) => els.map((e) => `${e.dataset.taskId}:${e.dataset.mark ?? 'new'}`));
    assert.deepEqual(marks.sort(), ['1:old', '2:old', '3:new', '4:old']);
    assert.deepEqual(page.apiCalls, [], 'the event carried the task');
  });
});

test('a deep link to a session beyond the first page shows it by name', async () => {
  const tree = manySessions();
  tree.transcript('-home-dev-old', 's-00', [{ type: 'user', cwd: '/home/dev/old', slug: 'old-otter' }]);
  await withPage(tree, async (page) => {
    assert.equal(await page.locator('#view-title').textContent(), 'old-otter');
    assert.equal(await page.locator('#detail-subject').textContent(), 'Quiet 0');
  }, '#/session/s-00/task/1');
});

test('All tasks reads every task when the user goes there, not before', async () => {
  await withPage(manySessions(), async (page) => {
    await page.click('#all-tasks');
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 29);
    assert.deepEqual(page.apiCalls.sort(), ['/api/sessions?limit=all', '/api/tasks/all']);
  });
});
