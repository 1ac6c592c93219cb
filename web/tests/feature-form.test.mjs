// The feature forms as data (web/public/feature-form.js), without a browser: what a draft
// sends, where a refusal lands, how an edit that crossed another change is rebased, and what an
// import accepts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../public/feature-form.js';

function feature(id, extra = {}) {
  return {
    id, name: `Feature ${id}`, description: '', category: '', steps: [], priority: id, dependencies: [],
    state: 'ready', version: 1, ...extra,
  };
}

const typed = (draft, fields) => Object.entries(fields).reduce((d, [k, v]) => F.edit(d, k, v), draft);

test('a new feature is sent whole: trimmed, steps one per line, priority only when given', () => {
  let d = typed(F.newDraft(), { name: '  Login ', category: 'auth', steps: 'form\n\n  cookie \n', description: 'Email' });
  d = F.toggleDependency(F.toggleDependency(d, 5, true), 2, true);
  assert.deepEqual(F.request(d), {
    method: 'POST', path: '/api/features', headers: {},
    body: {
      name: 'Login', description: 'Email', category: 'auth', dependencies: [2, 5],
      steps: [{ text: 'form', done: false }, { text: 'cookie', done: false }],
    },
  });
  assert.equal(F.request(F.edit(d, 'priority', '3')).body.priority, 3);
  assert.deepEqual(F.toggleDependency(d, 5, false).dependencies, [2]);
});

test('the form refuses a blank name or a fractional priority itself, and typing clears that error', () => {
  const d = typed(F.newDraft(), { name: '  ', priority: '1.5' });
  const { errors } = F.request(d);
  assert.deepEqual(Object.keys(errors).sort(), ['name', 'priority']);
  const fixed = F.edit({ ...d, errors }, 'name', 'x');
  assert.deepEqual(Object.keys(fixed.errors), ['priority']);
});

test('an edit sends only what changed, with If-Match, and keeps finished steps finished', () => {
  const f = feature(7, { name: 'Export', steps: [{ text: 'rows', done: true }, { text: 'header', done: false }], dependencies: [3], version: 4 });
  const d = F.draftFor(f);
  assert.equal(d.steps, 'rows\nheader');
  assert.equal(d.priority, '7');
  assert.deepEqual(F.request(d), { unchanged: true });
  const req = F.request(typed(d, { name: 'Export CSV', steps: 'rows\nquoting' }));
  assert.deepEqual(req, {
    method: 'PATCH', path: '/api/features/7', headers: { 'If-Match': '"4"' },
    body: { name: 'Export CSV', steps: [{ text: 'rows', done: true }, { text: 'quoting', done: false }] },
  });
  assert.deepEqual(F.request(F.toggleDependency(d, 3, false)).body, { dependencies: [] });
  assert.deepEqual(F.request(F.edit(d, 'priority', '1')).body, { priority: 1 });
});

test("refusals land on the field they concern, in the server's words, and keep what was typed", () => {
  const d = typed(F.newDraft(), { name: 'Alpha' });
  const cycle = F.refused(d, 409, { error: 'dependency would create a cycle: [1, 2, 1]', code: 'dependency_cycle', cycle: [1, 2, 1] });
  assert.equal(cycle.errors.dependencies, 'dependency would create a cycle: [1, 2, 1] (#1 → #2 → #1)');
  assert.equal(cycle.name, 'Alpha');
  for (const code of ['unknown_dependency', 'self_dependency']) {
    assert.equal(F.refused(d, 422, { error: 'no', code }).errors.dependencies, 'no');
  }
  assert.equal(F.refused(d, 422, { error: 'name is required', code: 'validation_failed' }).errors.name, 'name is required');
  assert.ok(F.refused(d, 422, { error: 'priority must be a number', code: 'validation_failed' }).errors.priority);
  const other = F.refused(d, 500, null, 'Internal server error');
  assert.deepEqual([other.errors, other.notice], [{}, { kind: 'error', message: 'Internal server error' }]);
  const changed = F.refused(F.draftFor(feature(3)), 412, { error: 'feature changed', code: 'version_mismatch' });
  assert.equal(changed.notice.kind, 'changed');
});

test('after a version mismatch the form shows the fresh feature, except what the user changed', () => {
  const opened = feature(3, { name: 'Dark mode', description: 'old', steps: [{ text: 'a', done: false }], version: 1 });
  const mine = typed(F.draftFor(opened), { name: 'Dark theme' });
  const fresh = { ...opened, description: 'new', name: 'Dark mode (v2)', steps: [{ text: 'a', done: true }], dependencies: [9], version: 2 };
  const rebased = F.rebase(mine, fresh);
  assert.deepEqual([rebased.name, rebased.description, rebased.dependencies, rebased.version], ['Dark theme', 'new', [9], 2]);
  const req = F.request(rebased);
  assert.deepEqual(req.body, { name: 'Dark theme' }, 'only my change goes, against version 2');
  assert.equal(req.headers['If-Match'], '"2"');
});

test('the prerequisites offered: not itself, ticked first, the rest by search, a deleted one kept to untick', () => {
  const list = [feature(1, { name: 'Schema', category: 'db' }), feature(2, { name: 'Login' }), feature(3, { name: 'Search' })];
  let d = { ...F.draftFor(list[1]), search: 's' };
  assert.deepEqual(F.dependencyChoices(list, d).map((c) => c.id), [1, 3]);
  d = F.toggleDependency(F.edit(d, 'search', 'db'), 3, true);
  assert.deepEqual(F.dependencyChoices(list, d).map((c) => [c.id, c.checked]), [[3, true], [1, false]]);
  d = F.toggleDependency(d, 42, true);
  assert.deepEqual(F.dependencyChoices(list, d).find((c) => c.id === 42), { id: 42, name: '(no longer exists)', state: 'gone', checked: true });
});

test('an import takes a JSON array (or {"features": [...]}) and explains anything else', () => {
  assert.deepEqual(F.parseImport('[{"name":"a"}]'), { body: { features: [{ name: 'a' }] } });
  assert.deepEqual(F.parseImport('{"features":[{"name":"a"}]}'), { body: { features: [{ name: 'a' }] } });
  assert.match(F.parseImport('').error, /Paste a JSON array/);
  assert.match(F.parseImport('[{').error, /^Not valid JSON/);
  assert.match(F.parseImport('{"name":"a"}').error, /Expected a JSON array/);
  assert.match(F.parseImport('[]').error, /empty/);
  const refusal = F.importRefusal([{ name: 'a' }, { name: '' }, { name: 'Orphan' }], 422, {
    error: 'invalid items in batch', code: 'validation_failed',
    errors: [{ index: 1, error: 'name is required' }, { index: 2, error: 'unknown dependencies: [9]' }],
  });
  assert.deepEqual(refusal, {
    message: 'invalid items in batch',
    items: [{ index: 1, text: 'Item 1: name is required' }, { index: 2, text: 'Item 2 "Orphan": unknown dependencies: [9]' }],
  });
});
