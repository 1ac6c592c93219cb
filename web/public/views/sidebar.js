// The sidebar: the filters (with the Needs-you count, and on a team board the machine filter),
// the page of sessions with each one's agent state and, on a team board, its machine (another
// machine's greyed and marked offline while that machine is), waiting ones first (and the stale
// ones under "Archived"), "More sessions" when
// the server may have more, and the Live list: work in progress, then work left unfinished by
// sessions that ended (stale, never shown as current work).

import { el } from '/common.js';
import { reconcile, setAttr, setText } from '/views/keyed.js';
import { relativeTime } from '/views/format.js';
import { stateBadge } from '/views/agents.js';
import {
  isActive, isOffline, isWaiting, liveTasks, machineLabel, machineList, projects, selfMachine, sessionName, sidebarSessions,
  stoppedTasks, waitingSessions, workTotal,
} from '/select.js';

const $ = (id) => document.getElementById(id);
const NEXT_LIMIT = { 20: '50', 50: 'all' };

export function createSidebar({ select, showActivity, open, setLimit }) {
  const more = el('button', { id: 'more-sessions', type: 'button', class: 'more', hidden: true }, 'More sessions');
  $('session-list').after(more);
  let limit = null;
  more.addEventListener('click', () => setLimit(NEXT_LIMIT[limit] ?? 'all'));
  let projectKey = null;
  let machineKey = null;

  /** `taskless`: a waiting session without a task list, which the Activity view details;
   * `self`: this machine's name on a team board. */
  function sessionItem(s, sub, taskless, self) {
    const total = workTotal(s);
    const done = total ? Math.round((s.completed / total) * 100) : 0;
    const bar = el('span');
    bar.style.width = `${done}%`;
    const machine = machineLabel(s);
    const offline = isOffline(s);
    return el('li', {
      class: offline ? 'session offline' : 'session',
      dataset: { sessionId: s.id, state: s.state ?? '', ...(machine ? { machine } : {}) },
      title: s.description ?? s.id,
      onclick: () => (taskless ? showActivity(s.id) : select(s.id)),
    },
    el('div', { class: 'name' }, isActive(s) ? el('span', { class: 'dot', title: 'active' }) : null,
      el('span', { class: 'label' }, sessionName(s)),
      stateBadge(s),
      taskless ? el('span', { class: 'badge no-list' }, 'no task list') : el('span', { class: 'badge progress-text' }, `${s.completed}/${total}`)),
    isWaiting(s) && s.waitingFor ? el('div', { class: 'waiting-for' }, s.waitingFor) : null,
    el('div', { class: 'sub' },
      machine ? el('span', { class: machine === self ? 'machine self' : 'machine', title: `On ${machine}${offline ? ', which is offline: its last data' : ''}` }, machine) : null,
      offline ? el('span', { class: 'badge offline' }, 'offline') : null,
      sub),
    taskless ? null : el('div', { class: 'progress' }, bar));
  }

  function sessions(list, items, state, now) {
    const current = (s) => ((state.page === 'tasks' && state.selected === s.id)
      || (state.page === 'activity' && state.activitySelected === s.id) ? 'true' : null);
    const sub = (s) => [s.project?.split('/').filter(Boolean).pop(), s.gitBranch, relativeTime(s.modifiedAt, now)]
      .filter(Boolean).join(' · ');
    const self = selfMachine(state);
    reconcile(list, items.map((s) => [s, sub(s), !state.sessions.has(s.id)]), {
      key: ([s]) => s.id,
      inputs: ([s, text, taskless]) => [s, text, taskless, self],
      build: ([s, text, taskless]) => sessionItem(s, text, taskless, self),
      patch: (node, [s]) => setAttr(node, 'aria-current', current(s)),
    });
  }

  function projectFilter(state) {
    const list = projects(state);
    const key = list.join('\n');
    if (key === projectKey) return;
    projectKey = key;
    const filter = $('project-filter');
    filter.replaceChildren(el('option', { value: '' }, 'All projects'),
      ...list.map((p) => el('option', { value: p }, p.split('/').filter(Boolean).pop() ?? p)));
    filter.value = list.includes(state.project) ? state.project : '';
  }

  /** All machines, or one: only on a team board (two machines or more). */
  function machineFilter(state) {
    const list = machineList(state);
    const filter = $('machine-filter');
    filter.hidden = list.length < 2 && !state.machine;
    const key = list.map((m) => `${m.name}\u0000${m.online}`).join('\n');
    if (key !== machineKey) {
      machineKey = key;
      filter.replaceChildren(el('option', { value: '' }, 'All machines'),
        ...list.map((m) => el('option', { value: m.name }, `${m.name}${m.self ? ' (this one)' : m.online ? '' : ' (offline)'}`)));
    }
    if (filter.value !== state.machine) filter.value = state.machine;
  }

  function liveFeed(state, now) {
    const live = liveTasks(state).map(([s, t]) => ({ s, t, stale: false }));
    const stopped = stoppedTasks(state, now).map(([s, t]) => ({ s, t, stale: true }));
    const items = [...(live.length ? live : [{ idle: true }]), ...(stopped.length ? [{ heading: true }] : []), ...stopped];
    reconcile($('live-feed'), items, {
      key: (item) => (item.idle ? 'idle' : item.heading ? 'stopped' : `${item.stale ? 'stale:' : ''}${item.s.id}/${item.t.id}`),
      inputs: (item) => (item.t ? [item.t, sessionName(item.s), machineLabel(item.s), isOffline(item.s)] : []),
      build: (item) => {
        if (item.idle) return el('li', { class: 'idle' }, 'Nothing in progress');
        if (item.heading) return el('li', { class: 'group', title: 'Their sessions ended with these tasks still in progress' }, 'Stopped mid-task');
        const { s, t, stale } = item;
        const machine = machineLabel(s);
        const where = machine ? ` · ${machine}${isOffline(s) ? ' (offline)' : ''}` : '';
        return el('li', { class: stale || isOffline(s) ? 'stale' : null, dataset: { sessionId: s.id, taskId: t.id }, onclick: () => open(s.id, String(t.id)) },
          t.activeForm || t.subject || `#${t.id}`,
          el('span', { class: 'who' }, `${sessionName(s)}${where} · #${t.id}${stale ? ' · session ended' : ''}`));
      },
    });
  }

  return {
    render(state, now) {
      projectFilter(state);
      machineFilter(state);
      const { fresh, stale } = sidebarSessions(state, now);
      sessions($('session-list'), fresh, state, now);
      $('archived').hidden = stale.length === 0;
      setText($('archived-count'), String(stale.length));
      sessions($('archived-list'), stale, state, now);
      limit = state.limit;
      more.hidden = state.limit === 'all' || state.sessionsLimit === 'all';
      setAttr($('all-tasks'), 'aria-current', String(state.page === 'tasks' && state.selected === '*'));
      setAttr($('features-nav'), 'aria-current', String(state.page === 'features'));
      setAttr($('activity-nav'), 'aria-current', String(state.page === 'activity'));
      setAttr($('teams-nav'), 'aria-current', String(state.page === 'teams'));
      const waiting = waitingSessions(state).length;
      setText($('needs-you-count'), String(waiting));
      $('needs-you-count').dataset.count = String(waiting);
      $('needs-you').checked = state.needsYou;
      if ($('limit').value !== state.limit) $('limit').value = state.limit;
      liveFeed(state, now);
    },
  };
}
