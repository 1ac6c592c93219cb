// The sidebar: the project filter, the page of sessions (and the stale ones under "Archived"),
// "More sessions" when the server may have more, and the Live list of work in progress.

import { el } from '/common.js';
import { reconcile, setAttr, setText } from '/views/keyed.js';
import { relativeTime } from '/views/format.js';
import { liveTasks, projects, sessionName, sidebarSessions } from '/select.js';

const $ = (id) => document.getElementById(id);
const NEXT_LIMIT = { 20: '50', 50: 'all' };

export function createSidebar({ select, open, setLimit }) {
  const more = el('button', { id: 'more-sessions', type: 'button', class: 'more', hidden: true }, 'More sessions');
  $('session-list').after(more);
  let limit = null;
  more.addEventListener('click', () => setLimit(NEXT_LIMIT[limit] ?? 'all'));
  let projectKey = null;

  function sessionItem(s, sub) {
    const done = s.taskCount ? Math.round((s.completed / s.taskCount) * 100) : 0;
    const bar = el('span');
    bar.style.width = `${done}%`;
    return el('li', {
      class: 'session',
      dataset: { sessionId: s.id },
      title: s.description ?? s.id,
      onclick: () => select(s.id),
    },
    el('div', { class: 'name' }, s.inProgress > 0 ? el('span', { class: 'dot', title: 'active' }) : null,
      el('span', { class: 'label' }, sessionName(s)),
      el('span', { class: 'badge progress-text' }, `${s.completed}/${s.taskCount}`)),
    el('div', { class: 'sub' }, sub),
    el('div', { class: 'progress' }, bar));
  }

  function sessions(list, items, state, now) {
    const current = (s) => (state.page === 'tasks' && state.selected === s.id ? 'true' : null);
    const sub = (s) => [s.project?.split('/').filter(Boolean).pop(), s.gitBranch, relativeTime(s.modifiedAt, now)]
      .filter(Boolean).join(' · ');
    reconcile(list, items.map((s) => [s, sub(s)]), {
      key: ([s]) => s.id,
      inputs: ([s, text]) => [s, text],
      build: ([s, text]) => sessionItem(s, text),
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

  function liveFeed(state) {
    const live = liveTasks(state);
    const items = live.length ? live : [null];
    reconcile($('live-feed'), items, {
      key: (item) => (item ? `${item[0].id}/${item[1].id}` : ''),
      inputs: (item) => (item ? [item[1], sessionName(item[0])] : []),
      build: (item) => {
        if (!item) return el('li', { class: 'idle' }, 'Nothing in progress');
        const [s, t] = item;
        return el('li', { dataset: { sessionId: s.id, taskId: t.id }, onclick: () => open(s.id, String(t.id)) },
          t.activeForm || t.subject || `#${t.id}`, el('span', { class: 'who' }, `${sessionName(s)} · #${t.id}`));
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
      if ($('limit').value !== state.limit) $('limit').value = state.limit;
      liveFeed(state);
    },
  };
}
