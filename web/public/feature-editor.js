// The Features view's two dialogs: the feature form (add one, or edit one with `If-Match`) and
// the bulk import (a pasted or loaded JSON array). What they hold and what a refusal does to it
// is feature-form.js; this module draws that and talks to the server. A refusal is shown next
// to the field it concerns and nothing typed is lost; a form closed unsaved keeps its draft
// until the next save. The board itself shows the result from the list it refetches.

import { api, el } from '/common.js';
import {
  dependencyChoices, draftFor, edit, importRefusal, newDraft, parseImport, rebase, refused, request, toggleDependency,
} from '/feature-form.js';
import { reconcile, setAttr, setText } from '/views/keyed.js';

const label = (state) => state.replace('_', ' ');

/**
 * `features()` gives the features as last listed (the prerequisites to offer); `saved(ids)` is
 * called with the ids written once the server took a form or an import.
 */
export function createFeatureEditor({ features, saved }) {
  let draft = newDraft();
  let kept = null; // the add form's draft while its dialog is closed unsaved
  let busy = false;

  // ----- the feature form ------------------------------------------------------------------

  const inputs = {};
  const errors = {};
  /** One labelled field: its control, a hint, and where the server's refusal of it goes. */
  function field(name, text, control, hint = null) {
    control.id = `ff-${name}`;
    control.name = name;
    inputs[name] = control;
    errors[name] = el('p', { class: 'error field-error', id: `ff-${name}-error`, role: 'alert' });
    control.setAttribute('aria-describedby', `ff-${name}-error`);
    control.addEventListener('input', () => { draft = edit(draft, name, control.value); draw(); });
    return el('div', { class: 'ffield', dataset: { field: name } },
      el('label', { for: control.id }, text), control, hint ? el('span', { class: 'hint' }, hint) : null, errors[name]);
  }

  const search = el('input', { type: 'search', placeholder: 'Search by #id, name or category', autocomplete: 'off', 'aria-label': 'Search features to depend on' });
  search.addEventListener('input', () => { draft = edit(draft, 'search', search.value); draw(); });
  const choices = el('ul', { class: 'fchoices', 'aria-label': 'Features to depend on' });
  const noChoices = el('p', { class: 'hint' });
  const picked = el('span', { class: 'hint' });
  errors.dependencies = el('p', { class: 'error field-error', id: 'ff-dependencies-error', role: 'alert' });
  const depsField = el('fieldset', { class: 'ffield', dataset: { field: 'dependencies' }, 'aria-describedby': 'ff-dependencies-error' },
    el('legend', {}, 'Depends on ', picked), search, choices, noChoices, errors.dependencies);

  const title = el('h3', { id: 'ff-title' });
  const notice = el('p', { class: 'fnotice', role: 'alert', hidden: true });
  const save = el('button', { type: 'submit', class: 'primary' });
  const form = el('form', { class: 'fform', novalidate: true, onsubmit: submit },
    title,
    notice,
    field('name', 'Name', el('input', { type: 'text', autocomplete: 'off' })),
    field('description', 'Description', el('textarea', { rows: 3 })),
    el('div', { class: 'frow' },
      field('category', 'Category', el('input', { type: 'text', autocomplete: 'off' })),
      field('priority', 'Priority', el('input', { type: 'number', step: 1 }), 'Lower comes first; empty: last')),
    field('steps', 'Acceptance steps', el('textarea', { rows: 4 }), 'One per line'),
    depsField,
    el('div', { class: 'row' },
      el('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      save));
  const dialog = el('dialog', { class: 'fdialog', 'aria-labelledby': 'ff-title' }, form);
  dialog.addEventListener('close', () => {
    if (draft.mode === 'add') kept = draft;
  });

  function draw() {
    const editing = draft.mode === 'edit';
    setText(title, editing ? `Edit feature #${draft.id}` : 'Add a feature');
    setText(save, busy ? 'Saving…' : editing ? 'Save changes' : 'Add feature');
    save.disabled = busy;
    for (const [name, control] of Object.entries(inputs)) {
      if (control.value !== draft[name]) control.value = draft[name];
      setAttr(control, 'aria-invalid', draft.errors[name] ? 'true' : null);
    }
    for (const [name, p] of Object.entries(errors)) setText(p, draft.errors[name] ?? '');
    setAttr(depsField, 'aria-invalid', draft.errors.dependencies ? 'true' : null);
    if (search.value !== draft.search) search.value = draft.search;
    notice.hidden = !draft.notice;
    notice.dataset.kind = draft.notice?.kind ?? '';
    setText(notice, draft.notice?.message ?? '');
    drawChoices();
  }

  function drawChoices() {
    const list = dependencyChoices(features(), draft);
    const n = draft.dependencies.length;
    setText(picked, n ? `(${n} selected)` : '(none)');
    reconcile(choices, list, {
      key: (c) => c.id,
      inputs: (c) => [c.id, c.name, c.state],
      build: (c) => {
        const box = el('input', { type: 'checkbox', value: c.id });
        box.addEventListener('change', () => { draft = toggleDependency(draft, c.id, box.checked); draw(); });
        return el('li', { dataset: { featureId: c.id } }, el('label', {}, box,
          el('span', { class: 'task-id' }, `#${c.id}`), ' ', el('span', { class: 'cname' }, c.name),
          el('span', { class: 'badge', dataset: { state: c.state } }, label(c.state))));
      },
      patch: (node, c) => { node.querySelector('input').checked = c.checked; },
    });
    const none = features().filter((f) => f.id !== draft.id).length === 0;
    noChoices.hidden = list.length > 0;
    setText(noChoices, none ? 'No other features yet.' : 'No feature matches the search.');
  }

  function open(next) {
    draft = next;
    busy = false;
    draw();
    if (!dialog.open) dialog.showModal();
    inputs.name.focus();
  }

  /** Moves the keyboard to the first field the server (or the form) refused. */
  function focusError() {
    const name = ['name', 'description', 'category', 'priority', 'steps', 'dependencies'].find((k) => draft.errors[k]);
    if (name === 'dependencies') (choices.querySelector('input') ?? search).focus();
    else if (name) inputs[name].focus();
  }

  async function submit(e) {
    e.preventDefault();
    if (busy) return;
    const req = request(draft);
    if (req.errors) {
      draft = { ...draft, errors: req.errors };
      draw();
      focusError();
      return;
    }
    if (req.unchanged) {
      dialog.close();
      return;
    }
    busy = true;
    draw();
    const sent = draft;
    try {
      const f = await api(req.path, { method: req.method, body: JSON.stringify(req.body), headers: req.headers });
      busy = false;
      if (sent.mode === 'add') {
        draft = newDraft();
        kept = null;
      }
      dialog.close();
      saved([f.id]);
    } catch (err) {
      busy = false;
      draft = refused(draft, err.status, err.body, err.message);
      if (err.body?.code === 'version_mismatch') {
        try {
          draft = rebase(draft, await api(`/api/features/${draft.id}`));
        } catch (again) {
          draft = { ...draft, notice: { kind: 'error', message: `Could not reload #${draft.id}: ${again.message}` } };
        }
      }
      draw();
      focusError();
    }
  }

  // ----- the import --------------------------------------------------------------------------

  const importText = el('textarea', {
    id: 'fi-text', rows: 12, spellcheck: 'false', 'aria-describedby': 'fi-error',
    placeholder: '[\n  {"ref": "schema", "name": "Database schema", "steps": ["tables"]},\n  {"name": "Login", "dependsOnRefs": ["schema"], "dependencies": [3]}\n]',
  });
  const importFile = el('input', { id: 'fi-file', type: 'file', accept: '.json,application/json' });
  const importError = el('div', { class: 'ferror', id: 'fi-error', role: 'alert' });
  const importSave = el('button', { type: 'submit', class: 'primary' }, 'Import');
  const importForm = el('form', { class: 'fform', novalidate: true, onsubmit: submitImport },
    el('h3', { id: 'fi-title' }, 'Import features'),
    el('p', { class: 'hint' }, 'A JSON array of features, all or nothing. ', el('code', {}, '"ref"'), ' names one, so a later one can depend on it with ',
      el('code', {}, '"dependsOnRefs"'), '; ', el('code', {}, '"dependencies"'), ' lists existing ids.'),
    el('div', { class: 'ffield', dataset: { field: 'json' } }, el('label', { for: 'fi-text' }, 'JSON'), importText),
    el('div', { class: 'ffield', dataset: { field: 'file' } }, el('label', { for: 'fi-file' }, 'Or load a file'), importFile),
    importError,
    el('div', { class: 'row' }, el('button', { type: 'button', onclick: () => importDialog.close() }, 'Cancel'), importSave));
  const importDialog = el('dialog', { class: 'fdialog', 'aria-labelledby': 'fi-title' }, importForm);

  importText.addEventListener('input', () => showImportError(null));
  importFile.addEventListener('change', async () => {
    const file = importFile.files?.[0];
    if (!file) return;
    importText.value = await file.text();
    showImportError(null);
  });

  function showImportError(refusal) {
    importError.replaceChildren(...(refusal ? [el('p', { class: 'error' }, refusal.message),
      refusal.items.length ? el('ul', { class: 'ferrors' }, refusal.items.map((i) => el('li', { dataset: { index: i.index } }, i.text))) : null] : []));
    setAttr(importText, 'aria-invalid', refusal ? 'true' : null);
  }

  async function submitImport(e) {
    e.preventDefault();
    if (importSave.disabled) return;
    const parsed = parseImport(importText.value);
    if (parsed.error) {
      showImportError({ message: parsed.error, items: [] });
      importText.focus();
      return;
    }
    importSave.disabled = true;
    try {
      const res = await api('/api/features/bulk', { method: 'POST', body: JSON.stringify(parsed.body) });
      importText.value = '';
      importFile.value = '';
      showImportError(null);
      importDialog.close();
      saved(res.features.map((f) => f.id));
    } catch (err) {
      showImportError(err.body ? importRefusal(parsed.body.features, err.status, err.body) : { message: err.message, items: [] });
      importText.focus();
    } finally {
      importSave.disabled = false;
    }
  }

  document.body.append(dialog, importDialog);

  return {
    openAdd() { open(kept ?? newDraft()); },
    openEdit(f) { open(draftFor(f)); },
    openImport() {
      if (!importDialog.open) importDialog.showModal();
      importText.focus();
    },
    /** The list changed: the offered prerequisites follow it while the form is open. */
    listChanged() { if (dialog.open) drawChoices(); },
  };
}
