// The board as a person uses it, in real headless Chromium against the real server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tree, launch, openBoard, task, artifacts, withBoard as withBoardOn } from './helpers.mjs';

const S1 = 'aaaaaaaa-1111-4111-8111-111111111111';
const S2 = 'bbbbbbbb-2222-4222-8222-222222222222';
let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await launch();
});
after(async () => { await browser?.close(); });

function sampleTree() {
  const tree = new Tree();
  tree.task(S1, task(1, 'completed', { subject: 'Design the schema', description: '## Plan\n\n- tables\n- **indexes**\n\n<script>alert(1)</script>' }))
    .task(S1, task(2, 'in_progress', { subject: 'Write the API', activeForm: 'Writing the API', owner: 'agent-1', blockedBy: ['1'] }))
    .task(S1, task(3, 'pending', { subject: 'Ship it', blockedBy: ['2'] }))
    .task(S1, task(4, 'pending', { subject: 'Internal bookkeeping', metadata: { _internal: true } }))
    .task(S2, task(1, 'pending', { subject: 'Refactor parser' }))
    .transcript('-home-dev-app', S1, [{ type: 'user', cwd: '/home/dev/app', slug: 'brave-otter' }, { type: 'custom-title', customTitle: 'API work' }])
    .transcript('-home-dev-lib', S2, [{ type: 'user', cwd: '/home/dev/lib', slug: 'quiet-heron' }]);
  tree.age(`tasks/${S2}/1.json`, 1);
  return tree;
}

const withBoard = (tree, fn, hash = '') => withBoardOn(browser, tree, fn, { hash });


const column = (page, status) => page.locator(`.column[data-status="${status}"] .card`);
const cardIds = async (page, status) => column(page, status).evaluateAll((els) => els.map((e) => e.dataset.taskId));

test('picking a session shows its tasks in the right columns', async () => {
  await withBoard(sampleTree(), async (page) => {
    const items = page.locator('#session-list .session');
    assert.equal(await items.count(), 2);
    assert.equal(await items.first().locator('.label').textContent(), 'API work');
    await page.click(`.session[data-session-id="${S1}"]`);
    assert.deepEqual(await cardIds(page, 'pending'), ['3']);
    assert.deepEqual(await cardIds(page, 'in_progress'), ['2']);
    assert.deepEqual(await cardIds(page, 'completed'), ['1']);
    assert.equal(await page.locator('.card[data-task-id="4"]').count(), 0, 'internal tasks are hidden');
    const ship = page.locator('.card[data-task-id="3"]');
    assert.equal(await ship.locator('.badge.blocked').count(), 1, 'blocked by an unfinished task');
    assert.equal(await page.locator('.card[data-task-id="2"] .badge.blocked').count(), 0, 'its blocker is done');
    assert.match(await page.locator('#live-feed').textContent(), /Writing the API/);
    await ship.locator('.chip').click();
    assert.equal(await page.locator('#detail').getAttribute('data-task-id'), '2', 'a dependency chip jumps to the blocker');
    await page.screenshot({ path: join(artifacts, 'board-light.png') });
  });
});

test('cards appear and move as files are written, without reload', async () => {
  const tree = sampleTree();
  await withBoard(tree, async (page) => {
    await page.click(`.session[data-session-id="${S1}"]`);
    tree.task(S1, task(5, 'pending', { subject: 'Brand new task' }));
    await page.locator('.column[data-status="pending"] .card[data-task-id="5"]').waitFor();
    tree.task(S1, task(5, 'in_progress', { subject: 'Brand new task', activeForm: 'Doing the new thing' }));
    await page.locator('.column[data-status="in_progress"] .card[data-task-id="5"]').waitFor();
    tree.task(S1, task(5, 'completed', { subject: 'Brand new task' }));
    await page.locator('.column[data-status="completed"] .card[data-task-id="5"]').waitFor();
    assert.equal(await page.locator('.column[data-status="pending"] .card[data-task-id="5"]').count(), 0);
    // Two of four tasks done: the internal bookkeeping task is not work (contract §6).
    assert.match(await page.locator(`.session[data-session-id="${S1}"] .progress-text`).textContent(), /^2\/4$/);
  });
});

test('a note added in the detail panel shows up there and on disk', async () => {
  const tree = sampleTree();
  await withBoard(tree, async (page) => {
    await page.click(`.session[data-session-id="${S1}"]`);
    await page.click('.card[data-task-id="1"]');
    const description = page.locator('#detail-description');
    assert.equal(await description.locator('h3').textContent(), 'Plan', 'markdown is rendered');
    assert.equal(await description.locator('strong').textContent(), 'indexes');
    assert.equal(await description.locator('script').count(), 0, 'HTML in descriptions is shown as text');
    assert.match(await description.textContent(), /<script>alert\(1\)<\/script>/);
    await page.fill('#note-input', 'Remember the **migration**');
    await page.click('#note-form button[type="submit"]');
    await description.getByText('Note added by user').waitFor();
    assert.equal(await description.locator('strong', { hasText: 'migration' }).count(), 1);
    const onDisk = JSON.parse(readFileSync(tree.path(`tasks/${S1}/1.json`), 'utf8'));
    assert.match(onDisk.description, /#### \[Note added by user\]\n\nRemember the \*\*migration\*\*$/);
    assert.equal(onDisk.subject, 'Design the schema');
  });
});

test('delete asks first, names dependents, and removes the card', async () => {
  const tree = sampleTree();
  await withBoard(tree, async (page) => {
    await page.click(`.session[data-session-id="${S1}"]`);
    await page.click('.card[data-task-id="2"]');
    await page.click('#delete-button');
    assert.match(await page.locator('#confirm-dependents').textContent(), /#3 Ship it/);
    assert.equal(await page.locator('#confirm-yes').isDisabled(), true);
    await page.click('#confirm-delete button[value="cancel"]');
    await page.click('.card[data-task-id="3"]');
    await page.click('#delete-button');
    await page.click('#confirm-yes');
    await page.locator('.card[data-task-id="3"]').waitFor({ state: 'detached' });
    assert.equal(existsSync(tree.path(`tasks/${S1}/3.json`)), false);
    assert.equal(existsSync(tree.path(`tasks/${S1}/2.json`)), true);
    // After one confirmed delete, pressing Esc in the next confirmation must not delete.
    await page.click('.card[data-task-id="2"]');
    await page.keyboard.press('d');
    await page.locator('#confirm-delete').waitFor();
    assert.equal(await page.locator('#confirm-yes').isDisabled(), false, '3 is gone: 2 is free to delete');
    await page.keyboard.press('Escape');
    await page.locator('#confirm-delete').waitFor({ state: 'hidden' });
    await page.click(`.session[data-session-id="${S2}"]`);
    await page.click(`.session[data-session-id="${S1}"]`);
    assert.equal(await page.locator('.card[data-task-id="2"]').count(), 1);
    assert.equal(existsSync(tree.path(`tasks/${S1}/2.json`)), true);
  });
});

test('switching the theme in one page switches every open board', async () => {
  await withBoard(sampleTree(), async (page, flow) => {
    const other = await openBoard(browser, flow.url);
    try {
      await page.selectOption('#theme', 'dark');
      await other.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
      assert.equal(await other.locator('#theme').inputValue(), 'dark');
      await page.click(`.session[data-session-id="${S1}"]`);
      await page.screenshot({ path: join(artifacts, 'board-dark.png') });
      await other.selectOption('#theme', 'light');
      await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
      assert.deepEqual(other.errors, []);
    } finally {
      await other.context().close();
    }
  });
});

test('search filters sessions by task text and all-tasks view lists matches', async () => {
  await withBoard(sampleTree(), async (page) => {
    await page.fill('#search', 'parser');
    await page.waitForFunction(() => document.querySelectorAll('#session-list .session').length === 1);
    assert.equal(await page.locator('#session-list .session').getAttribute('data-session-id'), S2);
    await page.click('#all-tasks');
    assert.deepEqual(await page.locator('.card').evaluateAll((els) => els.map((e) => `${e.dataset.sessionId}/${e.dataset.taskId}`)), [`${S2}/1`]);
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 4);
  });
});

test('keyboard: / searches, j/k move, Enter opens, Esc closes, ? helps', async () => {
  await withBoard(sampleTree(), async (page) => {
    await page.click(`.session[data-session-id="${S1}"]`);
    await page.keyboard.press('j');
    assert.equal(await page.locator('.card.focused').getAttribute('data-task-id'), '3');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    assert.equal(await page.locator('.card.focused').getAttribute('data-task-id'), '2');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#detail').getAttribute('data-task-id'), '2');
    assert.match(page.url(), new RegExp(`#/session/${S1}/task/2$`), 'deep link follows');
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#detail').isHidden(), true);
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
    await page.keyboard.press('Escape');
    await page.keyboard.press('?');
    assert.equal(await page.locator('#help').isVisible(), true);
  });
});

test('a deep link opens the session and the task', async () => {
  await withBoard(sampleTree(), async (page) => {
    assert.equal(await page.locator('#detail').getAttribute('data-task-id'), '3');
    assert.equal(await page.locator('#detail-subject').textContent(), 'Ship it');
    assert.equal(await page.locator('#view-title').textContent(), 'API work');
  }, `#/session/${S1}/task/3`);
});

test('timeline view draws one bar per task', async () => {
  await withBoard(sampleTree(), async (page) => {
    await page.click(`.session[data-session-id="${S1}"]`);
    await page.click('[data-view="timeline"]');
    assert.equal(await page.locator('.tl-row').count(), 3);
    assert.equal(await page.locator('.tl-bar[data-status="completed"]').count(), 1);
    assert.equal(await page.locator('#board').isHidden(), true, 'the timeline replaces the columns');
  });
});

test('an empty Claude dir explains how to get task lists', async () => {
  const tree = new Tree();
  await withBoard(tree, async (page) => {
    const empty = page.locator('#empty');
    assert.equal(await empty.isVisible(), true);
    assert.match(await empty.textContent(), /No task lists yet/);
    assert.match(await empty.textContent(), /tasks/);
    tree.task('s-new', task(1, 'pending', { subject: 'First ever task' }));
    await page.locator('#session-list .session[data-session-id="s-new"]').waitFor();
  });
});

test('stale sessions are archived', async () => {
  const tree = sampleTree();
  tree.task('old-one', task(1, 'completed'));
  tree.age('tasks/old-one/1.json', 30);
  await withBoard(tree, async (page) => {
    assert.equal(await page.locator('#archived').isVisible(), true);
    assert.equal(await page.locator('#archived-count').textContent(), '1');
    assert.equal(await page.locator('#session-list .session[data-session-id="old-one"]').count(), 0);
  });
});

test('untitled sessions are labelled so they can be told apart', async () => {
  const tree = new Tree();
  tree.task('session-1a2b3c4d', task(1, 'pending'))
    .task('session-5e6f7a8b', task(1, 'pending'))
    .task('cccccccc-3333-4333-8333-333333333333', task(1, 'pending'));
  await withBoard(tree, async (page) => {
    const labels = await page.locator('#session-list .session .label').allTextContents();
    assert.deepEqual(labels.sort(), ['cccccccc', 'session-1a2b3c4d', 'session-5e6f7a8b']);
  });
});
