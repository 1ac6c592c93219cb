// The Features view as a person uses it: columns by derived state, the dependency graph, drag
// and drop to start, complete and reorder, refusals, and live updates from other clients. The
// store is seeded through the real API, the way an agent or a script would fill it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Tree, startFlow, launch, openBoard, request, artifacts, task, expectRefused } from './helpers.mjs';

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
    flow.tree = tree;
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

test('a card moved to the top of Ready is the next claim, even after a done prerequisite', async () => {
  await withFeatures(async (page, flow) => {
    // Yankee waits in the queue; Xray depends on Zulu, which is done but queued after Yankee.
    const make = async (body) => (await request(flow.url, 'POST', '/api/features', body)).body.id;
    const y = await make({ name: 'Yankee' });
    const z = await make({ name: 'Zulu' });
    assert.equal((await request(flow.url, 'POST', `/api/features/${z}/complete`, {})).status, 200);
    const x = await make({ name: 'Xray', dependencies: [z] });
    await card(page, 'ready', x).waitFor();
    assert.deepEqual(await columnIds(page, 'ready'), [y, x]);

    await card(page, 'ready', x).dragTo(card(page, 'ready', y), { targetPosition: { x: 30, y: 4 } });
    await page.waitForFunction((first) =>
      document.querySelector('.fcolumn[data-column="ready"] .fcard')?.dataset.featureId === String(first), x);
    assert.deepEqual(await columnIds(page, 'ready'), [x, y]);
    const ready = (await request(flow.url, 'GET', '/api/features/ready')).body.features.map((f) => f.id);
    assert.deepEqual(ready, [x, y], 'the queue agents claim from is the column');
    const claim = await request(flow.url, 'POST', '/api/features/claim', { agent: 'agent-1' });
    assert.equal(claim.body.feature.id, x);
    await card(page, 'in_progress', x).waitFor();
  }, { seeded: false });
});

test('a done card dragged back to In progress is reopened and started; taking a claim back asks first', async () => {
  await withFeatures(async (page, flow, ids) => {
    await card(page, 'done', ids.schema).dragTo(page.locator('.fcolumn[data-column="in_progress"] .cards'));
    await card(page, 'in_progress', ids.schema).waitFor();
    assert.equal((await feature(flow, ids.schema)).status, 'in_progress');
    // Its dependent is blocked again, live.
    await card(page, 'blocked', ids.login).waitFor();

    // Search is claimed by agent-7: putting it back in the queue ends that claim, so it asks.
    const asked = [];
    page.once('dialog', (d) => { asked.push(d.message()); d.dismiss(); });
    await card(page, 'in_progress', ids.search).dragTo(page.locator('.fcolumn[data-column="ready"] .cards'));
    assert.match(asked[0], /agent-7's claim on it ends/);
    assert.equal((await feature(flow, ids.search)).claimedBy, 'agent-7', 'declined: nothing changed');
    assert.deepEqual(await columnIds(page, 'in_progress'), [ids.schema, ids.search].sort((a, b) => a - b));

    page.once('dialog', (d) => d.accept());
    await card(page, 'in_progress', ids.search).dragTo(page.locator('.fcolumn[data-column="ready"] .cards'));
    await card(page, 'ready', ids.search).waitFor();
    const search = await feature(flow, ids.search);
    assert.equal(search.status, 'pending');
    assert.equal(search.claimedBy, null);
  });
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

test('dependency cycles sit in Blocked, are counted, and loop inside the graph', async () => {
  const tree = new Tree();
  let flow = await startFlow(tree);
  try {
    const res = await request(flow.url, 'POST', '/api/features/bulk', {
      features: [{ ref: 'a', name: 'Alpha' }, { ref: 'b', name: 'Bravo', dependsOnRefs: ['a'] }, { name: 'Free' }],
    });
    const [a, b, free] = res.body.features.map((f) => f.id);
    await flow.stop();
    // The API refuses to close a cycle, but a database edited by hand (or by an older tool)
    // can hold one: the board must still draw it.
    execFileSync('python3', ['-c', `import sqlite3,sys
c = sqlite3.connect(sys.argv[1]); c.execute('INSERT INTO feature_deps VALUES (?, ?)', (${a}, ${b})); c.commit()`,
    tree.path('flow-data/flow.db')]);
    flow = await startFlow(tree);
    const page = await openBoard(browser, flow.url, '#/features');
    try {
      await page.waitForSelector('#features[data-loaded="true"]');
      assert.deepEqual(await columnIds(page, 'blocked'), [a, b]);
      assert.match(await card(page, 'blocked', a).textContent(), /In a dependency cycle/);
      assert.equal(await page.locator('.fcounts [data-count="cycle"]').textContent(), '2 in a cycle');
      assert.deepEqual(await columnIds(page, 'ready'), [free]);

      await page.click('[data-fmode="graph"]');
      await page.waitForSelector('svg.graph .gedge.in-cycle');
      assert.equal(await page.locator('.gedge.in-cycle').count(), 2);
      assert.equal(await page.locator('.gnode.in-cycle').count(), 2);
      assert.match(await page.locator(`.gnode[data-feature-id="${a}"] .gid`).textContent(), /^#\d+ · cycle ↻$/);
      // Every edge stays inside the drawing, clear of the nodes it joins.
      const inside = await page.evaluate(() => {
        const svg = document.querySelector('svg.graph').getBoundingClientRect();
        return [...document.querySelectorAll('.gedge')].every((e) => {
          const r = e.getBoundingClientRect();
          return r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom;
        });
      });
      assert.equal(inside, true);
      await page.screenshot({ path: join(artifacts, 'features-cycle.png') });
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  } finally {
    await flow.stop();
    tree.remove();
  }
});

test('the view stays put under unrelated task events and catches up on changes made while away', async () => {
  await withFeatures(async (page, flow, ids) => {
    const tree = flow.tree;
    // Keyboard focus on a graph node survives an agent writing a task file.
    await page.focus(`.gnode[data-feature-id="${ids.login}"]`);
    tree.task('busy-session', task(1, 'in_progress'));
    await page.locator('#session-list [data-session-id="busy-session"]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.featureId), String(ids.login));

    // A change made while the view is hidden, during its last fetch, still shows on return.
    // (A second stream in the page tells when a change has reached the page.)
    const create = async (name) => {
      await page.evaluate(() => new Promise((connected) => {
        const es = new EventSource('/api/events');
        window.featureSeen = new Promise((seen) => {
          es.onmessage = (m) => {
            const { type } = JSON.parse(m.data);
            if (type === 'connected') connected();
            if (type === 'feature-update') { es.close(); seen(); }
          };
        });
      }));
      const created = await request(flow.url, 'POST', '/api/features', { name });
      await page.evaluate(() => window.featureSeen);
      return created.body.id;
    };
    await page.click('#all-tasks');
    const first = await create('Made while away');
    let release;
    const held = new Promise((ok) => { release = ok; });
    let holding = true; // only the next fetch is held
    await page.route('**/api/features', async (route) => {
      if (holding) {
        holding = false;
        await held;
      }
      await route.continue();
    });
    const fetching = page.waitForRequest('**/api/features');
    await page.click('#features-nav'); // stale: fetches, and that answer is held back
    await fetching;
    await page.click('#all-tasks');
    const second = await create('Made during the fetch');
    release();
    await page.click('#features-nav');
    await page.locator(`.gnode[data-feature-id="${second}"]`).waitFor();
    assert.equal(await page.locator(`.gnode[data-feature-id="${first}"]`).count(), 1);
  }, { hash: '#/features/graph' });
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
