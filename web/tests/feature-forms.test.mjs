// People writing features on the board: the add form (with a dependency chosen from the list),
// editing one (and a change made meanwhile by someone else), the server's refusals shown next
// to the field they concern, and the bulk import (pasted or loaded from a file).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tree, launch, request, artifacts, withBoard, expectRefused } from './helpers.mjs';

let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** The Features view over a fresh store, seeded through the API with `features` (bulk). */
async function withForms(features, fn) {
  await withBoard(browser, new Tree(), async (page, flow) => {
    let ids = [];
    if (features.length) {
      const res = await request(flow.url, 'POST', '/api/features/bulk', { features });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids = res.body.features.map((f) => f.id);
    }
    await page.waitForSelector('#features[data-loaded="true"]');
    if (ids.length) await page.locator(`.fcard[data-feature-id="${ids.at(-1)}"]`).waitFor();
    await fn(page, flow, ids);
  }, { hash: '#/features' });
}

const card = (page, column, id) => page.locator(`.fcolumn[data-column="${column}"] .fcard[data-feature-id="${id}"]`);
const feature = async (flow, id) => (await request(flow.url, 'GET', `/api/features/${id}`)).body;
const list = async (flow) => (await request(flow.url, 'GET', '/api/features')).body;
const form = (page) => page.locator('dialog.fdialog:has(#ff-name)');
const imports = (page) => page.locator('dialog.fdialog:has(#fi-text)');
const fieldError = (page, field) => form(page).locator(`.ffield[data-field="${field}"] .field-error`);
const choice = (page, id) => form(page).locator(`.fchoices li[data-feature-id="${id}"] input`);

test('a person adds a feature that depends on another, by keyboard, and sees it blocked on the board', async () => {
  await withForms([{ name: 'Database schema', category: 'backend' }, { name: 'Search' }], async (page, flow, [schema, search]) => {
    await page.focus('#feature-add');
    await page.keyboard.press('Enter');
    await form(page).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'ff-name', 'the form opens on its first field');
    await page.keyboard.type('User can log in');
    await page.fill('#ff-description', 'Email and password');
    await page.fill('#ff-category', 'auth');
    await page.fill('#ff-priority', '2');
    await page.fill('#ff-steps', 'login form\n\n  session cookie  \n');
    // The list of prerequisites narrows as one types; a box is ticked with the space bar.
    await form(page).locator('input[type="search"]').fill('schem');
    assert.equal(await form(page).locator('.fchoices li').count(), 1);
    await choice(page, schema).focus();
    await page.keyboard.press('Space');
    assert.match(await form(page).locator('legend').textContent(), /1 selected/);
    await form(page).locator('input[type="search"]').fill('');
    assert.equal(await form(page).locator('.fchoices li').count(), 2);
    await page.screenshot({ path: join(artifacts, 'feature-add.png') });
    await page.focus('#ff-name');
    await page.keyboard.press('Enter');

    await form(page).waitFor({ state: 'hidden' });
    const added = page.locator('.fcolumn[data-column="blocked"] .fcard');
    await added.waitFor();
    const id = Number(await added.getAttribute('data-feature-id'));
    assert.equal(await added.locator('.subject').textContent(), 'User can log in');
    assert.equal(await added.locator('.badge.category').textContent(), 'auth');
    assert.equal(await added.locator('.steps-text').textContent(), '0/2 steps');
    assert.equal(await added.locator('.blocked-by .chip').textContent(), `#${schema} Database schema`);
    assert.match(await added.getAttribute('class'), /focused/, 'the new card is highlighted');
    assert.equal(await page.locator(`.fcard[data-feature-id="${id}"]`).count(), 1, 'shown once');
    assert.ok(await card(page, 'ready', search).isVisible());

    const stored = await feature(flow, id);
    assert.deepEqual(stored.dependencies, [schema]);
    assert.equal(stored.state, 'blocked');
    assert.equal(stored.priority, 2);
    assert.equal(stored.description, 'Email and password');
    assert.deepEqual(stored.steps, [{ text: 'login form', done: false }, { text: 'session cookie', done: false }]);

    // The next form starts empty.
    await page.click('#feature-add');
    assert.equal(await page.inputValue('#ff-name'), '');
    await page.keyboard.press('Escape');
    await form(page).waitFor({ state: 'hidden' });
  });
});

test('editing a feature changes its name and steps on the board; finished steps stay finished', async () => {
  await withForms([{ name: 'Exprot to CSV', steps: [{ text: 'all rows', done: true }, 'header line'] }], async (page, flow, [id]) => {
    const before = await feature(flow, id);
    await card(page, 'ready', id).locator('.fedit').click();
    await form(page).waitFor();
    assert.equal(await form(page).locator('h3').textContent(), `Edit feature #${id}`);
    assert.equal(await page.inputValue('#ff-name'), 'Exprot to CSV');
    assert.equal(await page.inputValue('#ff-steps'), 'all rows\nheader line');
    assert.equal(await choice(page, id).count(), 0, 'a feature is not offered as its own prerequisite');

    await page.fill('#ff-name', 'Export to CSV');
    await page.fill('#ff-steps', 'all rows\nquoted fields');
    await form(page).locator('button[type="submit"]').click();
    await form(page).waitFor({ state: 'hidden' });
    await page.locator(`.fcard[data-feature-id="${id}"] .subject:text-is("Export to CSV")`).waitFor();
    assert.equal(await card(page, 'ready', id).locator('.steps-text').textContent(), '1/2 steps');
    assert.equal(await page.locator('.fcard').count(), 1, 'edited in place, not added');

    const after = await feature(flow, id);
    assert.equal(after.name, 'Export to CSV');
    assert.deepEqual(after.steps, [{ text: 'all rows', done: true }, { text: 'quoted fields', done: false }]);
    assert.equal(after.version, before.version + 1);
  });
});

test('an edit that crosses someone else\'s change says so and reloads the feature, keeping what was typed', async () => {
  await withForms([{ name: 'Dark mode', description: 'old text' }], async (page, flow, [id]) => {
    await card(page, 'ready', id).locator('.fedit').click();
    await page.fill('#ff-name', 'Dark theme');
    // Meanwhile an agent rewrites the description.
    assert.equal((await request(flow.url, 'PATCH', `/api/features/${id}`, { description: 'new text' })).status, 200);
    await form(page).locator('button[type="submit"]').click();

    const notice = form(page).locator('.fnotice');
    await notice.waitFor();
    assert.match(await notice.textContent(), new RegExp(`changed #${id} meanwhile`));
    assert.match(await notice.textContent(), /feature changed since it was read/, "the server's words");
    assert.equal(await page.inputValue('#ff-description'), 'new text', 'reloaded');
    assert.equal(await page.inputValue('#ff-name'), 'Dark theme', 'what was typed is kept');
    assert.equal((await feature(flow, id)).name, 'Dark mode', 'nothing was overwritten');
    expectRefused(page, `412 /api/features/${id}`);

    await form(page).locator('button[type="submit"]').click();
    await form(page).waitFor({ state: 'hidden' });
    await page.locator(`.fcard[data-feature-id="${id}"] .subject:text-is("Dark theme")`).waitFor();
    const stored = await feature(flow, id);
    assert.equal(stored.name, 'Dark theme');
    assert.equal(stored.description, 'new text');
  });
});

test('a dependency that would close a cycle is refused next to the dependencies field; nothing changes', async () => {
  await withForms([
    { ref: 'a', name: 'Alpha' },
    { ref: 'b', name: 'Bravo', dependsOnRefs: ['a'] },
  ], async (page, flow, [a, b]) => {
    const before = await feature(flow, a);
    await card(page, 'ready', a).locator('.fedit').click();
    await page.fill('#ff-name', 'Alpha, renamed');
    await choice(page, b).check();
    await form(page).locator('button[type="submit"]').click();

    const error = fieldError(page, 'dependencies');
    await page.waitForFunction(() => document.querySelector('.ffield[data-field="dependencies"] .field-error')?.textContent);
    assert.match(await error.textContent(), /^dependency would create a cycle/, "the server's message");
    assert.match(await error.textContent(), new RegExp(`#${a} → #${b} → #${a}`));
    assert.equal(await fieldError(page, 'name').textContent(), '', 'only the field concerned');
    assert.equal(await form(page).isVisible(), true, 'the form stays open');
    assert.equal(await page.inputValue('#ff-name'), 'Alpha, renamed', 'nothing typed is lost');
    assert.equal(await choice(page, b).isChecked(), true);
    expectRefused(page, `409 /api/features/${a}`);
    await page.screenshot({ path: join(artifacts, 'feature-cycle.png') });

    const after = await feature(flow, a);
    assert.deepEqual([after.name, after.dependencies, after.version], [before.name, [], before.version]);
    assert.ok(await card(page, 'ready', a).isVisible());
    assert.ok(await card(page, 'blocked', b).isVisible());
    // Unticking it clears the refusal, and the rest saves.
    await choice(page, b).uncheck();
    assert.equal(await error.textContent(), '');
    await form(page).locator('button[type="submit"]').click();
    await page.locator(`.fcard[data-feature-id="${a}"] .subject:text-is("Alpha, renamed")`).waitFor();
  });
});

test('a prerequisite deleted while the form is open is refused as unknown, and can be unticked', async () => {
  await withForms([{ name: 'Short-lived' }], async (page, flow, [gone]) => {
    await page.click('#feature-add');
    await page.fill('#ff-name', 'Survivor');
    await choice(page, gone).check();
    assert.equal((await request(flow.url, 'DELETE', `/api/features/${gone}`)).status, 204);
    await form(page).locator(`.fchoices li[data-feature-id="${gone}"]:has-text("no longer exists")`).waitFor();
    await form(page).locator('button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector('.ffield[data-field="dependencies"] .field-error')?.textContent);
    assert.match(await fieldError(page, 'dependencies').textContent(), new RegExp(`^unknown dependencies: \\[${gone}\\]`));
    expectRefused(page, '422 /api/features');
    assert.equal((await list(flow)).counts.total, 0);

    // Unticked, it is gone from the list too.
    await choice(page, gone).click();
    await choice(page, gone).waitFor({ state: 'detached' });
    assert.equal(await fieldError(page, 'dependencies').textContent(), '');
    await form(page).locator('button[type="submit"]').click();
    await page.locator('.fcard .subject:text-is("Survivor")').waitFor();
  });
});

test('importing a JSON file of three features, one depending on another by ref, shows all three', async () => {
  await withForms([], async (page, flow) => {
    await page.click('#feature-import');
    await imports(page).waitFor();
    const features = [
      { ref: 'schema', name: 'Database schema', category: 'backend', steps: ['tables'] },
      { name: 'User can log in', dependsOnRefs: ['schema'] },
      { name: 'Search', priority: 1 },
    ];
    await page.setInputFiles('#fi-file', { name: 'features.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(features, null, 2)) });
    await page.waitForFunction(() => document.querySelector('#fi-text').value.includes('Database schema'));
    await imports(page).locator('button[type="submit"]').click();
    await imports(page).waitFor({ state: 'hidden' });

    await page.waitForFunction(() => document.querySelectorAll('.fcard').length === 3);
    const { features: stored } = await list(flow);
    const id = Object.fromEntries(stored.map((f) => [f.name, f.id]));
    await card(page, 'ready', id['Database schema']).waitFor();
    await card(page, 'ready', id.Search).waitFor();
    const login = card(page, 'blocked', id['User can log in']);
    assert.equal(await login.locator('.blocked-by .chip').textContent(), `#${id['Database schema']} Database schema`);
    assert.deepEqual(stored.find((f) => f.name === 'User can log in').dependencies, [id['Database schema']]);
    assert.equal(await page.locator('.fcounts [data-count="total"]').textContent(), '3 total');
  });
});

test('a bad import shows what is wrong, item by item, and creates nothing', async () => {
  await withForms([], async (page, flow) => {
    await page.click('#feature-import');
    const error = imports(page).locator('.ferror');
    await page.fill('#fi-text', '[{"name": "Fine"},');
    await imports(page).locator('button[type="submit"]').click();
    assert.match(await error.textContent(), /^Not valid JSON/);
    assert.deepEqual(page.failedLoads, [], 'not sent');

    const text = JSON.stringify([{ name: 'Fine' }, { name: '' }, { name: 'Orphan', dependencies: [4242] }]);
    await page.fill('#fi-text', text);
    assert.equal(await error.textContent(), '', 'typing clears the old error');
    await imports(page).locator('button[type="submit"]').click();
    await imports(page).locator('.ferrors li').first().waitFor();
    assert.match(await error.locator('p.error').textContent(), /invalid items in batch/);
    assert.deepEqual(await imports(page).locator('.ferrors li').allTextContents(), [
      'Item 1: name is required',
      'Item 2 "Orphan": unknown dependencies: [4242]',
    ]);
    assert.equal(await page.inputValue('#fi-text'), text, 'the text stays to be fixed');
    expectRefused(page, '422 /api/features/bulk');
    await page.screenshot({ path: join(artifacts, 'feature-import-refused.png') });
    assert.equal((await list(flow)).counts.total, 0, 'all or nothing');
    assert.equal(await page.locator('.fcard').count(), 0);
  });
});
