// The main area: the three status columns of cards, or the timeline, or a message saying why
// there is nothing to show (the Plan tab and a team's members beside are views/plan.js and
// views/teams.js); on the Features page, the Features view (features.js) instead (and on the
// Activity and Teams pages, nothing of its own: views/activity.js and views/teams.js draw
// those). A card left in progress by a session that ended is marked stale: nobody is working on
// it.

import { el } from '/common.js';
import { reconcile, setAttr, setText } from '/views/keyed.js';
import { createTimeline } from '/views/timeline.js';
import {
  STATUSES, boardTeamName, currentCards, emptyReason, focusIndex, ids, isOffline, isStaleTask, machineLabel, openBlockers, sessionName,
  sessionView, statusOf,
} from '/select.js';

const $ = (id) => document.getElementById(id);

const MESSAGES = {
  'no-task-lists': (state, { showActivity }) => [
    el('h3', {}, 'Recent sessions, but no task lists'),
    el('p', {}, `Flow sees ${state.activity.size} recent Claude Code session${state.activity.size === 1 ? '' : 's'}, but none has written a task list to `,
      el('code', {}, state.health?.tasksDir ?? '~/.claude/tasks'), '.'),
    el('p', {}, 'Newer models leave the task tools off unless Claude Code runs with ',
      el('code', {}, 'CLAUDE_CODE_ENABLE_TODO_TOOLS=1'), ' in its environment: start it as ',
      el('code', {}, 'CLAUDE_CODE_ENABLE_TODO_TOOLS=1 claude'), ', or add ',
      el('code', {}, '"env": {"CLAUDE_CODE_ENABLE_TODO_TOOLS": "1"}'), ' to ', el('code', {}, '~/.claude/settings.json'),
      '. Then ask it to plan its work as a task list, and the board fills in live.'),
    el('p', {}, 'Meanwhile, Activity shows every session, what state its agent is in and which ones wait for you.'),
    el('button', { type: 'button', id: 'empty-activity', onclick: showActivity }, 'Open Activity'),
  ],
  'no-sessions': (state) => [
    el('h3', {}, 'No task lists yet'),
    el('p', {}, 'Flow shows the task lists Claude Code writes to ', el('code', {}, state.health?.tasksDir ?? '~/.claude/tasks'), '.'),
    el('p', {}, 'Ask Claude Code to plan its work as a task list (for example "make a task list for this and work through it"), and the board fills in live as the agent writes.'),
  ],
  pick: () => [el('h3', {}, 'Pick a session'), el('p', {}, 'Choose a session on the left, or "All tasks" to see every task at once.')],
  'not-found': () => [el('h3', {}, 'Session not found'), el('p', {}, 'It may have been closed or removed.')],
  'no-tasks': () => [el('h3', {}, 'No tasks in this session'),
    el('p', {}, 'Its task list is empty: the agent has not written tasks yet, or the list was closed.')],
  'team-no-tasks': () => [el('h3', {}, 'No tasks yet, only the team'),
    el('p', {}, 'This team\'s task list holds only the trackers Claude Code keeps for its members. Who is working on what is beside.')],
  loading: () => [el('h3', {}, 'Loading…')],
};

export function createBoard({ open, features, showActivity }) {
  const timeline = createTimeline({ open });
  let shown = null; // the message on screen, so it is not rebuilt every frame

  function card(sid, t, blockers, session, stale) {
    const blockedBy = ids(t.blockedBy);
    return el('li', {
      class: stale ? 'card stale' : 'card',
      dataset: { taskId: t.id, sessionId: sid },
      tabindex: '-1',
      onclick: () => open(sid, String(t.id)),
    },
    el('div', { class: 'top' }, el('span', { class: 'task-id' }, `#${t.id}`),
      t.owner ? el('span', { class: 'owner' }, t.owner) : null,
      stale ? el('span', { class: 'badge stale', title: 'Its session has ended with this task still in progress: nobody is working on it' }, 'stale') : null,
      blockers.length && statusOf(t) !== 'completed' ? el('span', { class: 'badge blocked' }, 'blocked') : null),
    el('p', { class: 'subject' }, t.subject ?? '(no subject)'),
    statusOf(t) === 'in_progress' && t.activeForm ? el('p', { class: 'active-form' }, t.activeForm) : null,
    session ? el('div', { class: 'session-name' }, session) : null,
    blockedBy.length ? el('div', { class: 'chips' }, blockedBy.map((id) => el('button', {
      type: 'button',
      class: `chip${blockers.includes(id) ? ' open' : ''}`,
      title: `Blocked by #${id}`,
      onclick: (e) => { e.stopPropagation(); open(sid, id); },
    }, `needs #${id}`))) : null);
  }

  function columns(state, cards) {
    const focus = focusIndex(state);
    const all = state.selected === '*';
    const indexed = cards.map(([sid, t], i) => {
      const blockers = openBlockers(state, sid, t);
      const summary = state.sessions.get(sid);
      const machine = summary && machineLabel(summary);
      const where = machine ? ` · ${machine}${isOffline(summary) ? ' (offline)' : ''}` : '';
      const session = all && summary ? `${sessionName(summary)}${where}` : null;
      return { sid, t, i, blockers, blockerKey: blockers.join(' '), session, stale: isStaleTask(summary, t) };
    });
    for (const status of STATUSES) {
      const column = document.querySelector(`.column[data-status="${status}"]`);
      const items = indexed.filter(({ t }) => statusOf(t) === status);
      setText(column.querySelector('.count'), String(items.length));
      reconcile(column.querySelector('.cards'), items, {
        key: ({ sid, t }) => `${sid}/${t.id}`,
        inputs: ({ t, blockerKey, session, stale }) => [t, blockerKey, session, stale],
        build: ({ sid, t, blockers, session, stale }) => card(sid, t, blockers, session, stale),
        patch: (node, { sid, t, i }) => {
          const isOpen = state.openTask?.sessionId === sid && state.openTask.taskId === String(t.id);
          node.classList.toggle('focused', i === focus);
          setAttr(node, 'aria-selected', isOpen ? 'true' : 'false');
          if (node.dataset.index !== String(i)) node.dataset.index = String(i);
        },
      });
    }
  }

  function message(state, reason) {
    const key = `${reason}\n${state.health?.tasksDir ?? ''}\n${state.activity.size}`;
    if (key === shown) return;
    shown = key;
    $('empty').replaceChildren(...(reason ? MESSAGES[reason](state, { showActivity }) : []));
  }

  return {
    render(state, now) {
      $('work').hidden = state.page !== 'tasks';
      if (state.page !== 'tasks') {
        for (const id of ['empty', 'board', 'timeline']) $(id).hidden = true;
        if (state.page === 'features') features.show(state.featuresMode);
        else features.hide();
        return;
      }
      features.hide();
      const view = sessionView(state);
      const found = view === 'plan' ? null : emptyReason(state);
      const reason = found === 'no-tasks' && boardTeamName(state) ? 'team-no-tasks' : found;
      message(state, reason);
      $('empty').hidden = !reason;
      $('board').hidden = Boolean(reason) || view !== 'board';
      $('timeline').hidden = Boolean(reason) || view !== 'timeline';
      if (reason || view === 'plan') return;
      const cards = currentCards(state);
      if (view === 'board') columns(state, cards);
      else timeline.render($('timeline'), cards, now);
    },
  };
}
