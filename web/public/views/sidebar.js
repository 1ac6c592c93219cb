// The sidebar: the filters (with the Needs-you count), the page of sessions with each one's
// agent state, waiting ones first (and the stale ones under "Archived"), "More sessions" when
// the server may have more, and the Live list: work in progress, then work left unfinished by
// sessions that ended (stale, never shown as current work).

import { el } from '/common.js';
import { reconcile, setAttr, setText } from '/views/keyed.js';
import { relativeTime } from '/views/format.js';
import { stateBadge } from '/views/agents.js';
import { isActive, isWaiting, liveTasks, projects, sessionName, sidebarSessions, stoppedTasks, waitingSessions, workTotal } from '/select.js';

const $ = (id) => document.getElementById(id);
const NEXT_LIMIT = { 20: '50', 50: 'all' };

export function createSidebar({ select, showActivity, open, setLimit }) {
  const more = el('button', { id: 'more-sessions', type: 'button', class: 'more', hidden: true }, 'More sessions');
  $('session-list').after(more);
  let limit = null;
  more.addEventListener('click', () => setLimit(NEXT_LIMIT[limit] ?? 'all'));
  let projectKey = null;

  /** `taskless`: a waiting session without a task list, which the Activity view details. */
  function sessionItem(s, sub, taskless) {
    const total = workTotal(s);
    const done = total ? Math.round((s.completed / total) * 100) : 0;
    const bar = el('span');
    bar.style.width = `${done}%`;
    return el('li', {
      class: 'session',
      dataset: { sessionId: s.id, state: s.state ?? '' },
      title: s.description ?? s.id,
      onclick: () => (taskless ? showActivity(s.id) : select(s.id)),
    },
    el('div', { class: 'name' }, isActive(s) ? el('span', { class: 'dot', title: 'active' }) : null,
      el('span', { class: 'label' }, sessionName(s)),
      stateBadge(s),
      taskless ? el('span', { class: 'badge no-list' }, 'no task list') : el('span', { class: 'badge progress-text' }, `${s.completed}/${total}`)),
    isWaiting(s) && s.waitingFor ? el('div', { class: 'waiting-for' }, s.waitingFor) : null,
    el('div', { class: 'sub' }, sub),
    taskless ? null : el('div', { class: 'progress' }, bar));
  }

  function sessions(list, items, state, now) {
    const current = (s) => ((state.page === 'tasks' && state.selected === s.id)
      || (state.page === 'activity' && state.activitySelected === s.id) ? 'true' : null);
    const sub = (s) => [s.project?.split('/').filter(Boolean).pop(), s.gitBranch, relativeTime(s.modifiedAt, now)]
      .filter(Boolean).join(' · ');
    reconcile(list, items.map((s) => [s, sub(s), !state.sessions.has(s.id)]), {
      key: ([s]) => s.id,
      inputs: ([s, text, taskless]) => [s, text, taskless],
      build: ([s, text, taskless]) => sessionItem(s, text, taskless),
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

  function liveFeed(state, now) {
    const live = liveTasks(state).map(([s, t]) => ({ s, t, stale: false }));
    const stopped = stoppedTasks(state, now).map(([s, t]) => ({ s, t, stale: true }));
    const items = [...(live.length ? live : [{ idle: true }]), ...(stopped.length ? [{ heading: true }] : []), ...stopped];
    reconcile($('live-feed'), items, {
      key: (item) => (item.idle ? 'idle' : item.heading ? 'stopped' : `${item.stale ? 'stale:' : ''}${item.s.id}/${item.t.id}`),
      inputs: (item) => (item.t ? [item.t, sessionName(item.s)] : []),
      build: (item) => {
        if (item.idle) return el('li', { class: 'idle' }, 'Nothing in progress');
        if (item.heading) return el('li', { class: 'group', title: 'Their sessions ended with these tasks still in progress' }, 'Stopped mid-task');
        const { s, t, stale } = item;
        return el('li', { class: stale ? 'stale' : null, dataset: { sessionId: s.id, taskId: t.id }, onclick: () => open(s.id, String(t.id)) },
          t.activeForm || t.subject || `#${t.id}`,
          el('span', { class: 'who' }, `${sessionName(s)} · #${t.id}${stale ? ' · session ended' : ''}`));
      },
    });
  }

  return {
    render(state, now) {
      projectFilter(state);
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
