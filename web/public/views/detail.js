// The detail panel of the open task (its description as Markdown, its dependencies, the note
// form) and the delete confirmation, which names the tasks that still depend on it.

import { el } from '/common.js';
import { renderMarkdown } from '/markdown.js';
import { setText } from '/views/keyed.js';
import { dependentsOf, ids, openTaskData, statusOf } from '/select.js';

const $ = (id) => document.getElementById(id);

export function createDetail({ open }) {
  let drawn = null; // [task, sessionId] last drawn: the Markdown is only rendered again on change

  function draw(sid, task) {
    const detail = $('detail');
    detail.dataset.taskId = task.id;
    detail.dataset.sessionId = sid;
    $('detail-id').textContent = `#${task.id} · ${statusOf(task).replace('_', ' ')}`;
    $('detail-subject').textContent = task.subject ?? '(no subject)';
    $('detail-meta').textContent = [
      task.owner ? `owner ${task.owner}` : null,
      `created ${new Date(task.createdAt).toLocaleString()}`,
      `updated ${new Date(task.updatedAt).toLocaleString()}`,
    ].filter(Boolean).join(' · ');
    $('detail-active').textContent = statusOf(task) === 'in_progress' ? task.activeForm ?? '' : '';
    const chip = (id) => el('button', { type: 'button', class: 'chip', onclick: () => open(sid, id) }, `#${id}`);
    const blockedBy = ids(task.blockedBy);
    const blocks = ids(task.blocks);
    $('detail-deps').replaceChildren(...[
      blockedBy.length ? el('div', { class: 'blocked-by' }, 'Blocked by ', ...blockedBy.map(chip)) : null,
      blocks.length ? el('div', { class: 'blocks' }, 'Blocks ', ...blocks.map(chip)) : null,
    ].filter(Boolean));
    $('detail-description').replaceChildren(renderMarkdown(task.description ?? ''));
  }

  return {
    render(state) {
      const task = openTaskData(state);
      const detail = $('detail');
      setText($('detail-error'), state.detailError ?? '');
      if (!task || state.page !== 'tasks') {
        detail.hidden = true;
        drawn = null;
        return;
      }
      detail.hidden = false;
      const sid = state.openTask.sessionId;
      if (drawn?.[0] === task && drawn[1] === sid) return;
      drawn = [task, sid];
      draw(sid, task);
    },
  };
}

/** Fills and shows the delete confirmation for the open task. */
export function askDelete(state) {
  const open = state.openTask;
  if (!open) return;
  const dependents = dependentsOf(state, open.sessionId, open.taskId);
  $('confirm-id').textContent = `#${open.taskId}`;
  $('confirm-text').textContent = dependents.length
    ? 'These tasks depend on it, so Flow will refuse until they no longer do:'
    : 'The task file is removed from disk. This cannot be undone.';
  $('confirm-dependents').replaceChildren(...dependents.map((t) => el('li', {}, `#${t.id} ${t.subject ?? ''}`)));
  $('confirm-yes').disabled = dependents.length > 0;
  // A dialog keeps its last returnValue: without this, Esc after an earlier "Delete" deletes.
  $('confirm-delete').returnValue = '';
  $('confirm-delete').showModal();
}
