// A session's TodoWrite items (`/api/sessions/:id/todos`, contract §6): what a session that keeps
// no task list planned, each with its status, grouped by the agent whose list holds it.

import { el } from '/common.js';

const MARKS = { completed: '☑', in_progress: '◐', pending: '☐' };

/** The items as a list, or a line saying why there is none. */
export function todoList(list) {
  if (list === undefined) return el('p', { class: 'muted' }, 'Loading todos…');
  if (!list?.length) return el('p', { class: 'muted' }, 'No todo list.');
  const items = [];
  let agent;
  for (const t of list) {
    if (t.agentId !== agent && (t.agentId || agent !== undefined)) {
      items.push(el('li', { class: 'todo-agent' }, t.agentId ? `Agent ${t.agentId}` : 'Session'));
    }
    agent = t.agentId ?? null;
    const status = Object.hasOwn(MARKS, t.status) ? t.status : 'pending';
    items.push(el('li', { class: 'todo', dataset: { status } },
      el('span', { class: 'mark', 'aria-hidden': 'true' }, MARKS[status]),
      el('span', { class: 'content' }, status === 'in_progress' && t.activeForm ? t.activeForm : t.content ?? '')));
  }
  return el('ul', { class: 'todo-list' }, items);
}
