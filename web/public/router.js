// The address bar: `#/session/<id>`, `#/session/<id>/task/<id>`, `#/session/<id>/plan`, `#/all`,
// `#/features`, `#/features/graph`, `#/activity`, `#/activity/<session id>`, `#/teams`,
// `#/teams/<team>`. The hash follows the state (replaced, not pushed: a live board is one
// page, not a history of clicks), and a hash typed or linked to is parsed into a route the
// store applies (store.js, route).

import { planShown } from './select.js';

function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** A hash as a route for the store, or null for none (the board stays as it is). */
export function parseHash(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decode);
  if (parts[0] === 'features') return { page: 'features', mode: parts[1] === 'graph' ? 'graph' : 'columns' };
  if (parts[0] === 'all') return { page: 'tasks', selected: '*' };
  if (parts[0] === 'activity') return { page: 'activity', selected: parts[1] || null };
  if (parts[0] === 'teams') return { page: 'teams', selected: parts[1] || null };
  if (parts[0] === 'session' && parts[1]) {
    const where = { page: 'tasks', selected: parts[1], task: parts[2] === 'task' && parts[3] ? parts[3] : null };
    return parts[2] === 'plan' ? { ...where, view: 'plan' } : where;
  }
  return null;
}

export function formatHash(state) {
  let hash = '';
  if (state.page === 'features') hash = state.featuresMode === 'graph' ? '#/features/graph' : '#/features';
  else if (state.page === 'activity') {
    hash = state.activitySelected ? `#/activity/${encodeURIComponent(state.activitySelected)}` : '#/activity';
  }
  else if (state.page === 'teams') {
    hash = state.teamSelected ? `#/teams/${encodeURIComponent(state.teamSelected)}` : '#/teams';
  }
  else if (state.selected === '*') hash = '#/all';
  else if (state.selected) hash = `#/session/${encodeURIComponent(state.selected)}`;
  if (state.openTask && state.page === 'tasks' && state.selected && state.selected !== '*') {
    hash += `/task/${encodeURIComponent(state.openTask.taskId)}`;
  } else if (planShown(state)) hash += '/plan';
  return hash;
}

export function syncHash(state) {
  const hash = formatHash(state);
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
}

export function onRoute(go) {
  window.addEventListener('hashchange', () => go(parseHash(location.hash)));
}
