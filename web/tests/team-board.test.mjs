// The team board (contract §7) in real headless Chromium: two real `flow` servers, alpha and
// beta, each over its own Claude dir, publishing to one fresh database on the throwaway
// PostgreSQL server of ./scripts/test. Alpha's board shows beta's session with its machine,
// filters by machine, and greys it out with a notice when beta stops; a note on beta's task is
// then refused with the server's 503, shown where edit errors are shown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tree, artifacts, expectRefused, freshPostgres, launch, openBoard, startFlow, task } from './helpers.mjs';

const SA = 'aaaaaaaa-1111-4111-8111-111111111111';
const SB = 'bbbbbbbb-2222-4222-8222-222222222222';
const REMOTE = `beta.${SB}`;
/** How long another machine's change may take to show: a bound on failure, not a wait. */
const WITHIN = { timeout: 30_000 };

const db = freshPostgres('flow_ui_team');
if (!db) console.log('# team-board.test.mjs skipped: FLOW_TEST_POSTGRES is not set (./scripts/test starts a PostgreSQL server)');

let browser;
before(async () => {
  if (!db) return;
  mkdirSync(artifacts, { recursive: true });
  browser = await launch();
});
after(async () => { await browser?.close(); });

const machine = (tree, name) => startFlow(tree, { args: ['--db', db, '--publish', '--machine', name] });

test('alpha\'s board shows beta\'s session by machine, and greys it out when beta stops', { skip: !db }, async () => {
  const alphaTree = new Tree()
    .task(SA, task(1, 'in_progress', { subject: 'Write the parser', activeForm: 'Writing the parser' }))
    .transcript('-home-dev-app', SA, [{ type: 'user', cwd: '/home/dev/app', slug: 'brave-otter' }]);
  const betaTree = new Tree()
    .task(SB, task(1, 'pending', { subject: 'Tune the cache' }))
    .transcript('-home-dev-lib', SB, [{ type: 'user', cwd: '/home/dev/lib', slug: 'quiet-heron' }]);
  const alpha = await machine(alphaTree, 'alpha');
  const beta = await machine(betaTree, 'beta');
  let page;
  try {
    page = await openBoard(browser, alpha.url);
    const remote = page.locator(`#session-list .session[data-session-id="${REMOTE}"]`);
    await remote.waitFor(WITHIN);
    assert.equal(await remote.locator('.machine').textContent(), 'beta');
    assert.equal(await remote.locator('.label').textContent(), 'quiet-heron');
    const own = page.locator(`#session-list .session[data-session-id="${SA}"]`);
    assert.equal(await own.locator('.machine').textContent(), 'alpha', 'every session is labelled on a team board');
    assert.equal(await remote.getAttribute('class'), 'session', 'online: not greyed');

    // The machine filter: every machine, or one.
    const filter = page.locator('#machine-filter');
    await filter.waitFor({ state: 'visible' });
    assert.deepEqual(await filter.locator('option').allTextContents(), ['All machines', 'alpha (this one)', 'beta']);
    await filter.selectOption('beta');
    const listed = () => page.locator('#session-list .session').evaluateAll((els) => els.map((e) => e.dataset.sessionId));
    assert.deepEqual(await listed(), [REMOTE]);
    await filter.selectOption('');
    assert.deepEqual((await listed()).sort(), [SA, REMOTE].sort());

    // Beta's tasks open on alpha's board, with where they run.
    await remote.click();
    await page.locator('.card[data-task-id="1"]').click();
    assert.equal(await page.locator('#detail-subject').textContent(), 'Tune the cache');
    assert.match(await page.locator('#view-subtitle').textContent(), /^on beta · \/home\/dev\/lib/);

    // Beta stops (SIGTERM: it marks itself offline as it goes).
    await beta.stop();
    await page.locator(`#session-list .session.offline[data-session-id="${REMOTE}"]`).waitFor(WITHIN);
    assert.equal(await remote.locator('.badge.offline').textContent(), 'offline');
    await page.locator('#notice:not([hidden])').waitFor();
    assert.equal(await page.locator('#notice').textContent(), 'beta went offline');
    assert.match(await page.locator('#view-subtitle').textContent(), /^on beta \(offline: its last data\)/);
    assert.deepEqual(await filter.locator('option').allTextContents(), ['All machines', 'alpha (this one)', 'beta (offline)']);
    assert.equal(await page.locator(`#session-list .session[data-session-id="${REMOTE}"]`).count(), 1, 'shown once');
    await page.screenshot({ path: join(artifacts, 'team-board-offline.png') });

    // A note on the offline machine's task: the server's refusal, where edit errors show.
    await page.fill('#note-input', 'are you there?');
    await page.click('#note-form button[type="submit"]');
    await page.locator('#detail-error', { hasText: 'Machine beta is offline' }).waitFor();
    assert.equal(await page.locator('#note-input').inputValue(), 'are you there?', 'the note is kept to send again');
    expectRefused(page, `503 /api/tasks/${REMOTE}/1/note`);
    assert.deepEqual(page.errors, [], 'no console errors');
  } finally {
    await page?.context().close();
    await beta.stop();
    await alpha.stop();
    alphaTree.remove();
    betaTree.remove();
  }
});
