// The feature forms of the Features view, as data: a draft (what the add or edit form holds,
// as the text the user typed), the request a draft becomes (contract §5), the server's refusals
// turned into errors on the field they concern, and a pasted or loaded JSON import. Pure: no
// DOM, no fetch; a refusal never clears what the user typed (feature-editor.js draws these).

/** Fields a draft holds as typed text; `dependencies` is a list of ids. */
const TEXT = ['name', 'description', 'category', 'steps', 'priority'];

/** An empty form for a new feature. */
export function newDraft() {
  return {
    mode: 'add', id: null, version: null, base: null,
    name: '', description: '', category: '', steps: '', priority: '', dependencies: [],
    search: '', errors: {}, notice: null,
  };
}

/** The form's fields for `f` as stored: what an edit starts from and is compared with. */
function fieldsOf(f) {
  return {
    name: f.name, description: f.description ?? '', category: f.category ?? '',
    steps: (f.steps ?? []).map((s) => s.text).join('\n'),
    priority: f.priority === null || f.priority === undefined ? '' : String(f.priority),
    dependencies: [...(f.dependencies ?? [])].sort((a, b) => a - b),
  };
}

/** The edit form of feature `f`, prefilled; `base` keeps what it was, for the diff and the steps' `done`. */
export function draftFor(f) {
  return { ...newDraft(), mode: 'edit', id: f.id, version: f.version, base: { ...fieldsOf(f), steps: f.steps ?? [] }, ...fieldsOf(f) };
}

/** The user typed `value` into `field`: that field's error goes, the others stay. */
export function edit(draft, field, value) {
  const errors = { ...draft.errors };
  delete errors[field];
  return { ...draft, [field]: value, errors, notice: field === 'search' ? draft.notice : null };
}

/** Ticks (or unticks) feature `id` as a prerequisite. */
export function toggleDependency(draft, id, on) {
  const rest = draft.dependencies.filter((d) => d !== id);
  const dependencies = on ? [...rest, id].sort((a, b) => a - b) : rest;
  return edit(draft, 'dependencies', dependencies);
}

const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);
const sameIds = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Steps from the text, one per line; a line whose text was a step keeps that step's `done`. */
function stepsOf(text, before = []) {
  const left = [...before];
  return lines(text).map((line) => {
    const i = left.findIndex((s) => s.text === line);
    const done = i >= 0 ? left.splice(i, 1)[0].done : false;
    return { text: line, done };
  });
}

/**
 * What submitting the draft asks: `{ errors }` when the form itself is wrong (nothing is sent),
 * `{ unchanged: true }` for an edit that changes nothing, else `{ method, path, body, headers }`.
 * An edit sends only the fields that changed, with `If-Match` from the version it was opened at.
 */
export function request(draft) {
  const errors = {};
  const name = draft.name.trim();
  if (!name) errors.name = 'A feature needs a name';
  const priority = draft.priority.trim();
  if (priority && !/^-?\d+$/.test(priority)) errors.priority = 'Priority is a whole number (lower comes first)';
  if (Object.keys(errors).length) return { errors };
  const fields = {
    name,
    description: draft.description.trim(),
    category: draft.category.trim(),
    steps: stepsOf(draft.steps, draft.base?.steps),
    dependencies: draft.dependencies,
  };
  if (priority) fields.priority = Number(priority);
  if (draft.mode === 'add') {
    return { method: 'POST', path: '/api/features', body: fields, headers: {} };
  }
  const base = draft.base;
  const body = {};
  // A field counts as changed when its text was edited, so an untouched one is never rewritten.
  for (const key of ['name', 'description', 'category']) if (draft[key] !== base[key]) body[key] = fields[key];
  const steps = fields.steps;
  if (steps.length !== base.steps.length || steps.some((s, i) => s.text !== base.steps[i].text || s.done !== base.steps[i].done)) {
    body.steps = steps;
  }
  if (!sameIds(fields.dependencies, base.dependencies)) body.dependencies = fields.dependencies;
  if ('priority' in fields && String(fields.priority) !== base.priority) body.priority = fields.priority;
  if (!Object.keys(body).length) return { unchanged: true };
  return { method: 'PATCH', path: `/api/features/${draft.id}`, body, headers: { 'If-Match': `"${draft.version}"` } };
}

/** A cycle as the server names it (`[3,7,3]`), for a person: `#3 → #7 → #3`. */
export const cycleText = (cycle) => cycle.map((id) => `#${id}`).join(' → ');

/** Which field a refusal concerns (contract §5 codes); `null`: the form as a whole. */
export function fieldOf(code, message = '') {
  if (['dependency_cycle', 'unknown_dependency', 'self_dependency'].includes(code)) return 'dependencies';
  if (code === 'validation_failed' || code === 'unknown_field') {
    if (/priority/i.test(message)) return 'priority';
    if (/step/i.test(message)) return 'steps';
    if (/categor/i.test(message)) return 'category';
    if (/description/i.test(message)) return 'description';
    return 'name';
  }
  return null;
}

/**
 * The server refused the draft (`status`, its error `body`): the message goes next to the field
 * it concerns, with the server's own text (and the cycle it found). Everything typed stays.
 * A 412 `version_mismatch` is the form's notice; `rebase` then brings in the fresh version.
 */
export function refused(draft, status, body, fallback = `Refused (HTTP ${status})`) {
  const message = body?.error ?? fallback;
  const code = body?.code ?? null;
  if (code === 'version_mismatch') {
    return { ...draft, notice: { kind: 'changed', message: `Someone changed #${draft.id} meanwhile (${message}). It has been reloaded below with your edits kept: check it and save again.` } };
  }
  const field = fieldOf(code, message);
  let text = message;
  if (code === 'dependency_cycle' && Array.isArray(body.cycle)) text = `${message} (${cycleText(body.cycle)})`;
  if (!field) return { ...draft, notice: { kind: 'error', message: text } };
  return { ...draft, errors: { ...draft.errors, [field]: text }, notice: null };
}

/**
 * After a 412: the form shows `fresh` (the feature as it is now), except the fields the user
 * had changed from what they opened, which keep the user's value; saving again sends those
 * against the new version.
 */
export function rebase(draft, fresh) {
  const now = fieldsOf(fresh);
  const next = { ...draft, version: fresh.version, base: { ...now, steps: fresh.steps ?? [] } };
  for (const key of [...TEXT, 'dependencies']) {
    const mine = draft[key];
    const opened = draft.base[key];
    const changed = key === 'dependencies' ? !sameIds(mine, opened)
      : key === 'steps' ? mine !== opened.map((s) => s.text).join('\n')
      : mine !== opened;
    next[key] = changed ? mine : now[key];
  }
  return next;
}

/**
 * The prerequisites the form offers: every feature but the one being edited, the ticked ones
 * first, then those whose `#id`, name or category match the search (all of them without one).
 * A ticked one that is no longer listed (deleted meanwhile) stays, so it can be unticked.
 */
export function dependencyChoices(features, draft) {
  const q = draft.search.trim().toLowerCase();
  const ticked = new Set(draft.dependencies);
  const matches = (f) => !q || `#${f.id} ${f.name} ${f.category ?? ''}`.toLowerCase().includes(q);
  const others = features.filter((f) => f.id !== draft.id);
  const listed = new Set(features.map((f) => f.id));
  const gone = draft.dependencies.filter((id) => !listed.has(id)).map((id) => ({ id, name: '(no longer exists)', state: 'gone' }));
  return [
    ...others.filter((f) => ticked.has(f.id)),
    ...gone,
    ...others.filter((f) => !ticked.has(f.id) && matches(f)),
  ].map((f) => ({ id: f.id, name: f.name, state: f.state, checked: ticked.has(f.id) }));
}

/**
 * A pasted or loaded import: a JSON array of features (or `{"features": [...]}`) as
 * `POST /api/features/bulk` takes it, or `{ error }` saying what is wrong with the text.
 */
export function parseImport(text) {
  if (!text.trim()) return { error: 'Paste a JSON array of features, or choose a file' };
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `Not valid JSON: ${err.message}` };
  }
  const features = Array.isArray(value) ? value : value?.features;
  if (!Array.isArray(features)) return { error: 'Expected a JSON array of features' };
  if (!features.length) return { error: 'The array is empty: nothing to import' };
  return { body: { features } };
}

/**
 * The server refused an import: its message, and one line per feature it names (its index in
 * the array, its name if it has one, and why), so a long array points at the ones to fix.
 */
export function importRefusal(features, status, body) {
  const items = (Array.isArray(body?.errors) ? body.errors : []).map((e) => {
    const name = typeof features?.[e.index]?.name === 'string' && features[e.index].name ? ` "${features[e.index].name}"` : '';
    return { index: e.index, text: `Item ${e.index}${name}: ${e.error}` };
  });
  let message = body?.error ?? `Refused (HTTP ${status})`;
  if (body?.code === 'dependency_cycle' && Array.isArray(body.cycle)) message = `${message} (${cycleText(body.cycle)})`;
  return { message, items };
}
