// The Features view as a person uses it: columns by derived state, the dependency graph, drag
// and drop to start, complete and reorder, refusals, and live updates from other clients. The
// store is seeded through the real API, the way an agent or a script would fill it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tree, startFlow, launch, openBoard, request, artifacts } from './helpers.mjs';

let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** A small plan: schema (done) → login (ready) → export (blocked); search is claimed. */
async function seed(url) {
  const res = await request(url, 'POST', '/api/features/bulk', {
    features: [
      { ref: 'schema', name: 'Database schema', category: 'backend', steps: ['tables', 'indexes'] },
      { ref: 'login', name: 'User can log in', category: 'auth', dependsOnRefs: ['schema'],
        steps: [{ text: 'form', done: true }, 'session cookie', 'logout'] },
      { ref: 'export', name: 'CSV export', category: 'backend', dependsOnRefs: ['login'] },
      { name: 'Search', category: 'frontend', steps: ['index', 'box'] },
      { name: 'Payment provider', category: 'billing' },
    ],
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = Object.fromEntries(res.body.features.map((f) => [f.name, f.id]));
  const ids = { schema: id['Database schema'], login: id['User can log in'], export: id['CSV export'], search: id.Search, payment: id['Payment provider'] };
  assert.equal((await request(url, 'POST', `/api/features/${ids.schema}/complete`, {})).status, 200);
  assert.equal((await request(url, 'POST', `/api/features/${ids.search}/claim`, { agent: 'agent-7' })).status, 200);
  assert.equal((await request(url, 'PATCH', `/api/features/${ids.payment}`, { status: 'needs_input' })).status, 200);
  return ids;
}

async function withFeatures(fn, { hash = '#/features', args = [], seeded = true } = {}) {
  const tree = new Tree();
  const flow = await startFlow(tree, { args });
  try {
    const ids = seeded ? await seed(flow.url) : {};
    const page = await openBoard(browser, flow.url, hash);
    try {
      await page.waitForSelector('#features[data-loaded="true"]');
      await fn(page, flow, ids);
      assert.deepEqual(page.errors, [], 'no console errors');
    } finally {
      await page.context().close();
    }
  } finally {
    await flow.stop();
    tree.remove();
  }
}

/**
 * A refusal the test provokes is a real 4xx answer, and Chromium logs each one as a console
 * error. Those must be exactly the `expected` ones ("409 /api/features/3"); they are then taken
 * out of `page.errors`, so any other error (a script error, an unexpected 4xx) still fails.
 */
function expectRefused(page, ...expected) {
  assert.deepEqual(page.failedLoads, expected);
  page.errors = page.errors.filter((e) => !e.startsWith('Failed to load resource:'));
  page.failedLoads = [];
}

const card = (page, column, id) => page.locator(`.fcolumn[data-column="${column}"] .fcard[data-feature-id="${id}"]`);
const columnIds = (page, column) => page.locator(`.fcolumn[data-column="${column}"] .fcard`)
  .evaluateAll((els) => els.map((e) => Number(e.dataset.featureId)));
const feature = async (flow, id) => (await request(flow.url, 'GET', `/api/features/${id}`)).body;
const columnHeader = (page, column) => page.locator(`.fcolumn[data-column="${column}"] h3`);

test('the Features view shows each feature in the column of its state', async () => {
  await withFeatures(async (page, flow, ids) => {
    assert.equal(await page.locator('#view-title').textContent(), 'Features');
    assert.equal(await page.locator('#features-nav').getAttribute('aria-current'), 'true');
    assert.deepEqual(await columnIds(page, 'done'), [ids.schema]);
    assert.deepEqual(await columnIds(page, 'ready'), [ids.login]);
    assert.deepEqual(await columnIds(page, 'blocked'), [ids.export]);
    assert.deepEqual(await columnIds(page, 'in_progress'), [ids.search]);
    assert.deepEqual(await columnIds(page, 'needs_input'), [ids.payment]);
    assert.match(await columnHeader(page, 'blocked').textContent(), /Blocked\s*1/);

    const login = card(page, 'ready', ids.login);
    assert.equal(await login.locator('.subject').textContent(), 'User can log in');
    assert.equal(await login.locator('.badge.category').textContent(), 'auth');
    assert.equal(await login.locator('.steps-text').textContent(), '1/3 steps');
    const blocked = card(page, 'blocked', ids.export);
    assert.equal(await blocked.locator('.blocked-by .chip').textContent(), `#${ids.login} User can log in`);
    assert.match(await card(page, 'in_progress', ids.search).locator('.claimed').textContent(), /claimed by agent-7/);
    assert.equal(await page.locator('.fcounts [data-count="total"]').textContent(), '5 total');
    assert.equal(await page.locator('.fcounts [data-count="blocked"]').textContent(), '1 blocked');

    // A chip leads to the prerequisite.
    await blocked.locator('.blocked-by .chip').click();
    await page.waitForSelector(`.fcard.focused[data-feature-id="${ids.login}"]`);
    await page.screenshot({ path: join(artifacts, 'features-columns.png') });

    // The sidebar entry and the task board still route both ways.
    await page.click('#all-tasks');
    assert.equal(await page.locator('#features').isHidden(), true);
    assert.equal(page.url().endsWith('#/all'), true);
    await page.click('#features-nav');
    assert.equal(await page.locator('#features').isVisible(), true);
    assert.equal(page.url().endsWith('#/features'), true);
  });
});

test('dragging a ready card starts it, then completes it; its dependent becomes ready everywhere', async () => {
  await withFeatures(async (page, flow, ids) => {
    const other = await openBoard(browser, flow.url, '#/features');
    try {
      await other.waitForSelector(`.fcolumn[data-column="blocked"] .fcard[data-feature-id="${ids.export}"]`);
      await card(page, 'ready', ids.login).dragTo(page.locator('.fcolumn[data-column="in_progress"] .cards'));
      await card(page, 'in_progress', ids.login).waitFor();
      assert.equal((await feature(flow, ids.login)).status, 'in_progress');
      await card(other, 'in_progress', ids.login).waitFor();

      await card(page, 'in_progress', ids.login).dragTo(page.locator('.fcolumn[data-column="done"] .cards'));
      await card(page, 'done', ids.login).waitFor();
      assert.equal((await feature(flow, ids.login)).status, 'done');
      // Completing login unblocks export, on this page and on the other one, without reload.
      await card(page, 'ready', ids.export).waitFor();
      await card(other, 'ready', ids.export).waitFor();
      await card(other, 'done', ids.login).waitFor();
      assert.equal(await card(page, 'blocked', ids.export).count(), 0);
      assert.deepEqual(await columnIds(page, 'blocked'), []);
      assert.deepEqual(other.errors, []);
    } finally {
      await other.context().close();
    }
  });
});

test('dragging a blocked card to In progress is refused and shows what blocks it', async () => {
  await withFeatures(async (page, flow, ids) => {
    const exportCard = card(page, 'blocked', ids.export);
    await exportCard.dragTo(page.locator('.fcolumn[data-column="in_progress"] .cards'));
    const refusal = exportCard.locator('.refusal');
    await refusal.waitFor();
    assert.match(await refusal.locator('.error').textContent(), /^Refused: .*blocked/i);
    assert.deepEqual(await refusal.locator('.chip').evaluateAll((els) => els.map((e) => Number(e.dataset.featureId))), [ids.login]);
    assert.deepEqual(await columnIds(page, 'blocked'), [ids.export], 'the card stays where it was');
    assert.deepEqual(await columnIds(page, 'in_progress'), [ids.search]);
    const stored = await feature(flow, ids.export);
    assert.equal(stored.status, 'pending');
    assert.equal(stored.state, 'blocked');
    expectRefused(page, `409 /api/features/${ids.export}`);
    await page.screenshot({ path: join(artifacts, 'features-refused.png') });

    // The refusal can be dismissed; a blocked card cannot be pushed into Ready either.
    await refusal.locator('.dismiss').click();
    await refusal.waitFor({ state: 'detached' });
    await exportCard.dragTo(page.locator('.fcolumn[data-column="ready"] .cards'));
    await exportCard.locator('.refusal').waitFor();
    assert.match(await exportCard.locator('.refusal').textContent(), /prerequisites are not done/);
    assert.deepEqual(await columnIds(page, 'blocked'), [ids.export]);
    assert.deepEqual(page.failedLoads, [], 'that one is refused without asking the server');
  });
});

test('dragging within a column reorders the queue', async () => {
  await withFeatures(async (page, flow) => {
    const res = await request(flow.url, 'POST', '/api/features/bulk', {
      features: [{ name: 'Alpha' }, { name: 'Bravo' }, { name: 'Charlie' }],
    });
    const [a, b, c] = res.body.features.map((f) => f.id);
    await page.waitForFunction((n) => document.querySelectorAll('.fcolumn[data-column="ready"] .fcard').length === n, 3);
    assert.deepEqual(await columnIds(page, 'ready'), [a, b, c]);

    // Drop Charlie on the top half of Alpha: before it.
    await card(page, 'ready', c).dragTo(card(page, 'ready', a), { targetPosition: { x: 30, y: 4 } });
    await page.waitForFunction(([first]) =>
      document.querySelector('.fcolumn[data-column="ready"] .fcard')?.dataset.featureId === String(first), [c]);
    assert.deepEqual(await columnIds(page, 'ready'), [c, a, b]);
    // Drop Charlie on the bottom half of Bravo: after it.
    const bravo = card(page, 'ready', b);
    const box = await bravo.boundingBox();
    await card(page, 'ready', c).dragTo(bravo, { targetPosition: { x: 30, y: box.height - 4 } });
    await page.waitForFunction(([last]) =>
      [...document.querySelectorAll('.fcolumn[data-column="ready"] .fcard')].at(-1)?.dataset.featureId === String(last), [c]);
    assert.deepEqual(await columnIds(page, 'ready'), [a, b, c]);

    const list = (await request(flow.url, 'GET', '/api/features')).body.features;
    const byPriority = list.filter((f) => [a, b, c].includes(f.id)).sort((x, y) => x.priority - y.priority).map((f) => f.id);
    assert.deepEqual(byPriority, [a, b, c], "the API's priority order matches the column");
  }, { seeded: false });
});

test('the graph draws one node per feature and one edge per dependency', async () => {
  await withFeatures(async (page, flow, ids) => {
    await page.click('[data-fmode="graph"]');
    await page.waitForSelector('svg.graph');
    assert.equal(page.url().endsWith('#/features/graph'), true);
    const graph = (await request(flow.url, 'GET', '/api/features/graph')).body;
    assert.equal(graph.nodes.length, 5);
    assert.equal(await page.locator('svg.graph .gnode').count(), graph.nodes.length);
    assert.equal(await page.locator('svg.graph .gedge').count(), graph.edges.length);
    assert.equal(graph.edges.length, 2);
    for (const n of graph.nodes) {
      assert.equal(await page.locator(`.gnode[data-feature-id="${n.id}"]`).getAttribute('data-state'), n.state);
    }
    const edges = await page.locator('.gedge').evaluateAll((els) => els.map((e) => `${e.dataset.source}->${e.dataset.target}`).sort());
    assert.deepEqual(edges, [`${ids.schema}->${ids.login}`, `${ids.login}->${ids.export}`].sort());
    assert.equal(await page.locator('.gedge').first().getAttribute('marker-end'), 'url(#farrow)');
    // Prerequisites sit left of their dependents (x by layer).
    const x = async (id) => (await page.locator(`.gnode[data-feature-id="${id}"]`).boundingBox()).x;
    assert.ok(await x(ids.schema) < await x(ids.login));
    assert.ok(await x(ids.login) < await x(ids.export));
    await page.screenshot({ path: join(artifacts, 'features-graph.png') });

    // The graph follows live changes too.
    await request(flow.url, 'POST', `/api/features/${ids.login}/complete`, {});
    await page.waitForSelector(`.gnode[data-feature-id="${ids.export}"][data-state="ready"]`);
    // A node leads back to its card.
    await page.click(`.gnode[data-feature-id="${ids.export}"]`);
    await page.waitForSelector(`.fcolumn[data-column="ready"] .fcard.focused[data-feature-id="${ids.export}"]`);
    assert.equal(page.url().endsWith('#/features'), true);
  });
});

test('a deep link opens the graph directly', async () => {
  await withFeatures(async (page) => {
    await page.waitForSelector('svg.graph .gnode');
    assert.equal(await page.locator('[data-fmode="graph"]').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('.fboard').isHidden(), true);
  }, { hash: '#/features/graph' });
});

test('features created and changed by another client appear on every open page', async () => {
  await withFeatures(async (page, flow) => {
    assert.match(await page.locator('.fmessage').textContent(), /No features yet/);
    const other = await openBoard(browser, flow.url, '#/features');
    try {
      const created = await request(flow.url, 'POST', '/api/features', { name: 'Dark mode', category: 'ui' });
      assert.equal(created.status, 201);
      const { id } = created.body;
      await card(page, 'ready', id).waitFor();
      await card(other, 'ready', id).waitFor();
      assert.equal(await page.locator('.fmessage').isHidden(), true);
      await request(flow.url, 'PATCH', `/api/features/${id}`, { status: 'in_progress' });
      await card(page, 'in_progress', id).waitFor();
      await card(other, 'in_progress', id).waitFor();
      await request(flow.url, 'DELETE', `/api/features/${id}`);
      await page.locator(`.fcard[data-feature-id="${id}"]`).waitFor({ state: 'detached' });
      await other.locator(`.fcard[data-feature-id="${id}"]`).waitFor({ state: 'detached' });
      assert.deepEqual(other.errors, []);
    } finally {
      await other.context().close();
    }
  }, { seeded: false });
});

test('with the feature store off the view says so', async () => {
  await withFeatures(async (page) => {
    const message = page.locator('.fmessage');
    assert.equal(await message.isVisible(), true);
    assert.equal(await message.getAttribute('data-kind'), 'disabled');
    assert.match(await message.textContent(), /The feature store is off/);
    assert.match(await message.textContent(), /--no-db/);
    assert.equal(await page.locator('.fboard').isHidden(), true);
    assert.equal(await page.locator('.fhead').isHidden(), true);
    expectRefused(page, '404 /api/features');
    // The task board is unaffected.
    await page.click('#all-tasks');
    assert.equal(await page.locator('#features').isHidden(), true);
  }, { args: ['--no-db'], seeded: false });
});
