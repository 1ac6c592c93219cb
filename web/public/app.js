// Flow's board. State lives in plain maps; the server's live events patch them and the views
// re-render from them. One EventSource carries every change; `resync` means re-fetch. The
// Features view (features.js) is a page of its own that this module routes to and feeds events.

import { api, el } from '/common.js';
import { createFeatures } from '/features.js';
import { renderMarkdown } from '/markdown.js';

const $ = (id) => document.getElementById(id);
const STALE_MS = 7 * 24 * 3600 * 1000;
const STATUSES = ['pending', 'in_progress', 'completed'];

const state = {
  sessions: new Map(), // id -> session summary, as /api/sessions lists it
  tasks: new Map(), // session id -> Map(task id -> task)
  page: 'tasks', // or 'features'
  selected: null, // session id, or '*' for all tasks, or null
  openTask: null, // { sessionId, taskId }
  focusIndex: -1,
  view: 'board',
  search: '',
  project: '',
  activeOnly: false,
  limit: '20',
  theme: 'system',
  notify: localStorage.getItem('flow.notify') === 'on',
  health: null,
};

const features = createFeatures($('features'), { onModeChange: () => setHash() });

// ----- API -------------------------------------------------------------------------------

async function loadAll() {
  const [sessions, tasks, theme] = await Promise.all([
    api('/api/sessions?limit=all'),
    api('/api/tasks/all'),
    api('/api/theme'),
  ]);
  state.sessions = new Map(sessions.map((s) => [s.id, s]));
  state.tasks = new Map();
  for (const s of sessions) state.tasks.set(s.id, new Map());
  for (const t of tasks) {
    if (!state.tasks.has(t.sessionId)) state.tasks.set(t.sessionId, new Map());
    state.tasks.get(t.sessionId).set(String(t.id), stripOwner(t));
  }
  applyTheme(theme.theme);
}

async function refreshSessions() {
  const sessions = await api('/api/sessions?limit=all');
  state.sessions = new Map(sessions.map((s) => [s.id, s]));
  render();
}

function stripOwner(task) {
  const { sessionId, sessionName, project, ...rest } = task;
  return rest;
}

// ----- live ------------------------------------------------------------------------------

function connect() {
  const conn = $('conn');
  const events = new EventSource('/api/events');
  const setConn = (s, label) => {
    conn.dataset.state = s;
    conn.textContent = label;
    conn.title = label;
  };
  events.onopen = () => setConn('live', 'live');
  events.onerror = () => setConn('reconnecting', 'reconnecting…');
  events.onmessage = (msg) => {
    let event;
    try {
      event = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (pending) pending.push(event);
    else handle(event);
  };
}

// Events that arrive while the first load is in flight wait here, so nothing that happens
// between connecting and loading is lost (events carry full state, so a repeat is harmless).
let pending = [];

function drainPending() {
  const queued = pending ?? [];
  pending = null;
  for (const event of queued) handle(event);
}

function handle(event) {
  switch (event.type) {
    case 'connected':
      return;
    case 'resync':
      features.handleEvent(event);
      loadAll().then(render).catch(showError);
      return;
    case 'feature-update':
      features.handleEvent(event);
      return;
    case 'metadata-update':
      refreshSessions().catch(showError);
      return;
    case 'theme':
      applyTheme(event.theme);
      return;
    case 'update':
      applyUpdate(event);
      render();
      return;
    default:
  }
}

function applyUpdate(event) {
  const sid = event.sessionId;
  if (event.event === 'unlinkDir') {
    state.sessions.delete(sid);
    state.tasks.delete(sid);
    if (state.selected === sid) state.selected = null;
    return;
  }
  if (event.session) state.sessions.set(sid, event.session);
  if (!state.tasks.has(sid)) state.tasks.set(sid, new Map());
  const tasks = state.tasks.get(sid);
  const id = event.file?.replace(/\.json$/, '');
  if (!id) return;
  if (event.event === 'unlink') {
    tasks.delete(id);
    if (state.openTask?.sessionId === sid && state.openTask.taskId === id) state.openTask = null;
  } else if (event.task) {
    // Keyed like the initial load: by the task's own id (its file name when it has none).
    const key = String(event.task.id ?? id);
    const before = tasks.get(key);
    tasks.set(key, event.task);
    if (before && before.status !== 'completed' && event.task.status === 'completed') {
      celebrate(event.task, event.session);
    }
  } else {
    // The file is unreadable right now (being written): fetch the session's view of it.
    api(`/api/sessions/${encodeURIComponent(sid)}`)
      .then((list) => {
        state.tasks.set(sid, new Map(list.map((t) => [String(t.id), t])));
        render();
      })
      .catch(() => {});
  }
}

// ----- notifications ---------------------------------------------------------------------

function celebrate(task, session) {
  if (!state.notify) return;
  chime();
  if ('Notification' in window && Notification.permission === 'granted') {
    const name = session ? sessionName(session) : '';
    new Notification(`Completed: ${task.subject ?? `#${task.id}`}`, { body: name, silent: true });
  }
}

function chime() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.35);
    osc.onended = () => ctx.close();
  } catch {
    // No audio device: the notification alone will do.
  }
}

async function toggleNotify() {
  state.notify = !state.notify;
  if (state.notify && 'Notification' in window && Notification.permission === 'default') {
    await Notification.requestPermission();
  }
  localStorage.setItem('flow.notify', state.notify ? 'on' : 'off');
  renderToolbar();
}

// ----- theme -----------------------------------------------------------------------------

function applyTheme(theme) {
  state.theme = theme;
  if (theme === 'light' || theme === 'dark') {
    document.documentElement.dataset.theme = theme;
  } else {
    delete document.documentElement.dataset.theme;
  }
  $('theme').value = theme;
}

// ----- derived data ----------------------------------------------------------------------

/** Title, else slug, else the id: a UUID by its first 8 characters, anything else whole
 * (`session-1a2b3c4d` folders all start alike, so their prefix tells nothing apart). */
function sessionName(s) {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s.id);
  return s.name ?? s.slug ?? (uuid ? s.id.slice(0, 8) : s.id);
}

function visibleTasks(sid) {
  const tasks = [...(state.tasks.get(sid)?.values() ?? [])];
  return tasks.filter((t) => t.metadata?._internal !== true);
}

function statusOf(task) {
  return STATUSES.includes(task.status) ? task.status : 'pending';
}

/** A task's id list as strings; a malformed field (not an array) is no list at all. */
function ids(list) {
  return Array.isArray(list) ? list.map(String) : [];
}

/** Open blockers: an unknown blocker id counts as blocking (contract §1). */
function openBlockers(sid, task) {
  const tasks = state.tasks.get(sid);
  return ids(task.blockedBy).filter((id) => tasks?.get(id)?.status !== 'completed');
}

function dependentsOf(sid, taskId) {
  return visibleTasks(sid).filter((t) => ids(t.blockedBy).includes(String(taskId)));
}

function isStale(s) {
  return s.inProgress === 0 && Date.now() - Date.parse(s.modifiedAt) > STALE_MS;
}

function matchesSearch(s) {
  const q = state.search.trim().toLowerCase();
  if (!q) return true;
  const hay = [s.id, s.name, s.slug, s.project, s.description, s.gitBranch];
  if (hay.some((v) => v && String(v).toLowerCase().includes(q))) return true;
  return visibleTasks(s.id).some((t) => taskMatches(t, q));
}

function taskMatches(t, q) {
  return [t.subject, t.description, t.activeForm, t.owner, `#${t.id}`]
    .some((v) => v && String(v).toLowerCase().includes(q));
}

function filteredSessions() {
  return [...state.sessions.values()]
    .filter((s) => !state.project || s.project === state.project)
    .filter((s) => !state.activeOnly || s.inProgress > 0)
    .filter(matchesSearch)
    .sort((a, b) => Date.parse(b.modifiedAt) - Date.parse(a.modifiedAt) || a.id.localeCompare(b.id));
}

function relativeTime(iso) {
  const secs = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (secs < 60) return 'just now';
  const units = [['y', 31536000], ['d', 86400], ['h', 3600], ['m', 60]];
  for (const [unit, size] of units) if (secs >= size) return `${Math.floor(secs / size)}${unit} ago`;
  return 'just now';
}

/** The tasks the current view shows, as [sessionId, task] pairs, in column order. */
function currentCards() {
  const pairs = [];
  const q = state.search.trim().toLowerCase();
  const sids = state.selected === '*'
    ? filteredSessions().map((s) => s.id)
    : state.selected ? [state.selected] : [];
  for (const sid of sids) {
    for (const t of visibleTasks(sid)) {
      if (state.selected === '*' && q && !taskMatches(t, q)) continue;
      pairs.push([sid, t]);
    }
  }
  const byId = (a, b) => compareIds(a[1].id, b[1].id);
  return STATUSES.flatMap((status) => pairs.filter(([, t]) => statusOf(t) === status).sort(byId));
}

function compareIds(a, b) {
  const [x, y] = [Number(a), Number(b)];
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  if (Number.isFinite(x)) return -1;
  if (Number.isFinite(y)) return 1;
  return String(a).localeCompare(String(b));
}

// ----- rendering -------------------------------------------------------------------------

function render() {
  renderSidebar();
  renderToolbar();
  renderMain();
  renderDetail();
}

function sessionItem(s) {
  const done = s.taskCount ? Math.round((s.completed / s.taskCount) * 100) : 0;
  const bar = el('span');
  bar.style.width = `${done}%`;
  const sub = [s.project?.split('/').filter(Boolean).pop(), s.gitBranch, relativeTime(s.modifiedAt)]
    .filter(Boolean).join(' · ');
  return el('li', {
    class: 'session',
    dataset: { sessionId: s.id },
    'aria-current': state.page === 'tasks' && state.selected === s.id ? 'true' : null,
    title: s.description ?? s.id,
    onclick: () => selectSession(s.id),
  },
  el('div', { class: 'name' }, s.inProgress > 0 ? el('span', { class: 'dot', title: 'active' }) : null,
    el('span', { class: 'label' }, sessionName(s)),
    el('span', { class: 'badge progress-text' }, `${s.completed}/${s.taskCount}`)),
  el('div', { class: 'sub' }, sub),
  el('div', { class: 'progress' }, bar));
}

function renderSidebar() {
  const projects = [...new Set([...state.sessions.values()].map((s) => s.project).filter(Boolean))].sort();
  const select = $('project-filter');
  const current = select.value;
  select.replaceChildren(el('option', { value: '' }, 'All projects'),
    ...projects.map((p) => el('option', { value: p }, p.split('/').filter(Boolean).pop() ?? p)));
  select.value = projects.includes(current) ? current : '';

  const sessions = filteredSessions();
  const fresh = sessions.filter((s) => !isStale(s));
  const stale = sessions.filter(isStale);
  const limit = state.limit === 'all' ? Infinity : Number(state.limit);
  $('session-list').replaceChildren(...fresh.slice(0, limit).map(sessionItem));
  $('archived').hidden = stale.length === 0;
  $('archived-count').textContent = String(stale.length);
  $('archived-list').replaceChildren(...stale.map(sessionItem));
  $('all-tasks').setAttribute('aria-current', String(state.page === 'tasks' && state.selected === '*'));
  $('features-nav').setAttribute('aria-current', String(state.page === 'features'));

  const live = [];
  for (const s of state.sessions.values()) {
    for (const t of visibleTasks(s.id)) if (t.status === 'in_progress') live.push([s, t]);
  }
  $('live-feed').replaceChildren(...(live.length
    ? live.map(([s, t]) => el('li', { dataset: { sessionId: s.id, taskId: t.id }, onclick: () => openTask(s.id, String(t.id)) },
      t.activeForm || t.subject || `#${t.id}`, el('span', { class: 'who' }, `${sessionName(s)} · #${t.id}`)))
    : [el('li', { class: 'idle' }, 'Nothing in progress')]));
}

function renderToolbar() {
  const title = $('view-title');
  const sub = $('view-subtitle');
  $('view-switch').hidden = state.page === 'features';
  if (state.page === 'features') {
    title.textContent = 'Features';
    sub.textContent = 'The feature store: drag a card to reorder, start or complete it';
  } else if (state.selected === '*') {
    title.textContent = 'All tasks';
    sub.textContent = `${currentCards().length} tasks across ${filteredSessions().length} sessions`;
  } else if (state.selected && state.sessions.has(state.selected)) {
    const s = state.sessions.get(state.selected);
    title.textContent = sessionName(s);
    sub.textContent = [s.project, s.gitBranch, s.description].filter(Boolean).join(' · ');
  } else {
    title.textContent = 'Flow';
    sub.textContent = 'Pick a session';
  }
  for (const b of document.querySelectorAll('[data-view]')) {
    b.setAttribute('aria-pressed', String(b.dataset.view === state.view));
  }
  $('notify').setAttribute('aria-pressed', String(state.notify));
}

function emptyState() {
  const empty = $('empty');
  if (state.sessions.size === 0) {
    const dir = state.health?.tasksDir ?? '~/.claude/tasks';
    empty.replaceChildren(
      el('h3', {}, 'No task lists yet'),
      el('p', {}, 'Flow shows the task lists Claude Code writes to ', el('code', {}, dir), '.'),
      el('p', {}, 'Ask Claude Code to plan its work as a task list (for example "make a task list for this and work through it"), and the board fills in live as the agent writes.'),
    );
    return true;
  }
  if (!state.selected) {
    empty.replaceChildren(el('h3', {}, 'Pick a session'), el('p', {}, 'Choose a session on the left, or "All tasks" to see every task at once.'));
    return true;
  }
  if (state.selected !== '*' && !state.sessions.has(state.selected)) {
    empty.replaceChildren(el('h3', {}, 'Session not found'), el('p', {}, 'It may have been closed or removed.'));
    return true;
  }
  if (state.selected !== '*' && visibleTasks(state.selected).length === 0) {
    empty.replaceChildren(el('h3', {}, 'No tasks in this session'),
      el('p', {}, 'Its task list is empty: the agent has not written tasks yet, or the list was closed.'));
    return true;
  }
  return false;
}

function card(sid, t, index) {
  const blockers = openBlockers(sid, t);
  const isOpen = state.openTask?.sessionId === sid && state.openTask.taskId === String(t.id);
  const session = state.sessions.get(sid);
  return el('li', {
    class: `card${index === state.focusIndex ? ' focused' : ''}`,
    dataset: { taskId: t.id, sessionId: sid, index },
    'aria-selected': isOpen ? 'true' : 'false',
    tabindex: '-1',
    onclick: () => { state.focusIndex = index; openTask(sid, String(t.id)); },
  },
  el('div', { class: 'top' }, el('span', { class: 'task-id' }, `#${t.id}`),
    t.owner ? el('span', { class: 'owner' }, t.owner) : null,
    blockers.length && statusOf(t) !== 'completed' ? el('span', { class: 'badge blocked' }, 'blocked') : null),
  el('p', { class: 'subject' }, t.subject ?? '(no subject)'),
  statusOf(t) === 'in_progress' && t.activeForm ? el('p', { class: 'active-form' }, t.activeForm) : null,
  state.selected === '*' && session ? el('div', { class: 'session-name' }, sessionName(session)) : null,
  ids(t.blockedBy).length ? el('div', { class: 'chips' }, ids(t.blockedBy).map((id) => el('button', {
    type: 'button',
    class: `chip${blockers.includes(String(id)) ? ' open' : ''}`,
    title: `Blocked by #${id}`,
    onclick: (e) => { e.stopPropagation(); openTask(sid, String(id)); },
  }, `needs #${id}`))) : null);
}

function renderMain() {
  if (state.page === 'features') {
    for (const id of ['empty', 'board', 'timeline']) $(id).hidden = true;
    features.show();
    return;
  }
  features.hide();
  const isEmpty = emptyState();
  $('empty').hidden = !isEmpty;
  $('board').hidden = isEmpty || state.view !== 'board';
  $('timeline').hidden = isEmpty || state.view !== 'timeline';
  if (isEmpty) return;
  const cards = currentCards();
  if (state.focusIndex >= cards.length) state.focusIndex = cards.length - 1;
  if (state.view === 'board') {
    for (const status of STATUSES) {
      const column = document.querySelector(`.column[data-status="${status}"]`);
      const items = cards.map((c, i) => [c, i]).filter(([[, t]]) => statusOf(t) === status);
      column.querySelector('.count').textContent = String(items.length);
      column.querySelector('.cards').replaceChildren(...items.map(([[sid, t], i]) => card(sid, t, i)));
    }
  } else {
    renderTimeline(cards);
  }
}

function renderTimeline(cards) {
  const times = cards.flatMap(([, t]) => [Date.parse(t.createdAt), Date.parse(t.updatedAt)]).filter(Number.isFinite);
  const start = Math.min(...times);
  const span = Math.max(Math.max(...times) - start, 1);
  const rows = [...cards].sort((a, b) => Date.parse(a[1].createdAt) - Date.parse(b[1].createdAt)).map(([sid, t]) => {
    const from = Date.parse(t.createdAt);
    const to = Math.max(Date.parse(t.updatedAt), from);
    const bar = el('div', { class: 'tl-bar', dataset: { status: statusOf(t) }, title: `${t.createdAt} → ${t.updatedAt}` });
    bar.style.left = `${((from - start) / span) * 100}%`;
    bar.style.width = `${Math.max(((to - from) / span) * 100, 0.5)}%`;
    return el('div', { class: 'tl-row', dataset: { taskId: t.id, sessionId: sid } },
      el('span', { class: 'tl-label', onclick: () => openTask(sid, String(t.id)) }, `#${t.id} ${t.subject ?? ''}`),
      el('div', { class: 'tl-track' }, bar));
  });
  $('timeline').replaceChildren(...rows);
}

function renderDetail() {
  const detail = $('detail');
  const open = state.openTask;
  const task = open && state.tasks.get(open.sessionId)?.get(open.taskId);
  if (!task || state.page === 'features') {
    detail.hidden = true;
    return;
  }
  detail.hidden = false;
  detail.dataset.taskId = task.id;
  detail.dataset.sessionId = open.sessionId;
  $('detail-id').textContent = `#${task.id} · ${statusOf(task).replace('_', ' ')}`;
  $('detail-subject').textContent = task.subject ?? '(no subject)';
  $('detail-meta').textContent = [
    task.owner ? `owner ${task.owner}` : null,
    `created ${new Date(task.createdAt).toLocaleString()}`,
    `updated ${new Date(task.updatedAt).toLocaleString()}`,
  ].filter(Boolean).join(' · ');
  $('detail-active').textContent = statusOf(task) === 'in_progress' ? task.activeForm ?? '' : '';
  const chip = (id) => el('button', { type: 'button', class: 'chip', onclick: () => openTask(open.sessionId, String(id)) }, `#${id}`);
  const blockedBy = ids(task.blockedBy);
  const blocks = ids(task.blocks);
  $('detail-deps').replaceChildren(...[
    blockedBy.length ? el('div', { class: 'blocked-by' }, 'Blocked by ', ...blockedBy.map(chip)) : null,
    blocks.length ? el('div', { class: 'blocks' }, 'Blocks ', ...blocks.map(chip)) : null,
  ].filter(Boolean));
  $('detail-description').replaceChildren(renderMarkdown(task.description ?? ''));
}

// ----- actions ---------------------------------------------------------------------------

function selectSession(id, { updateHash = true } = {}) {
  state.page = 'tasks';
  state.selected = id;
  state.focusIndex = -1;
  if (state.openTask && state.openTask.sessionId !== id && id !== '*') state.openTask = null;
  if (updateHash) setHash();
  render();
}

function openTask(sid, taskId, { updateHash = true } = {}) {
  if (state.selected !== '*' && state.selected !== sid) state.selected = sid;
  state.page = 'tasks';
  state.openTask = { sessionId: sid, taskId: String(taskId) };
  $('detail-error').textContent = '';
  const idx = currentCards().findIndex(([s, t]) => s === sid && String(t.id) === String(taskId));
  if (idx >= 0) state.focusIndex = idx;
  if (updateHash) setHash();
  render();
}

function showFeatures(mode, { updateHash = true } = {}) {
  state.page = 'features';
  features.show(mode);
  if (updateHash) setHash();
  render();
}

function closeDetail() {
  state.openTask = null;
  setHash();
  render();
}

function setHash() {
  let hash = '';
  if (state.page === 'features') hash = features.mode === 'graph' ? '#/features/graph' : '#/features';
  else if (state.selected === '*') hash = '#/all';
  else if (state.selected) hash = `#/session/${encodeURIComponent(state.selected)}`;
  if (state.openTask && state.page === 'tasks' && state.selected !== '*') hash += `/task/${encodeURIComponent(state.openTask.taskId)}`;
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname);
}

function applyHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'features') {
    showFeatures(parts[1] === 'graph' ? 'graph' : 'columns', { updateHash: false });
  } else if (parts[0] === 'all') {
    selectSession('*', { updateHash: false });
  } else if (parts[0] === 'session' && parts[1]) {
    state.page = 'tasks';
    state.selected = parts[1];
    if (parts[2] === 'task' && parts[3]) openTask(parts[1], parts[3], { updateHash: false });
    else { state.openTask = null; render(); }
  }
}

async function submitNote(e) {
  e.preventDefault();
  const open = state.openTask;
  const input = $('note-input');
  if (!open) return;
  try {
    const res = await api(`/api/tasks/${encodeURIComponent(open.sessionId)}/${encodeURIComponent(open.taskId)}/note`, {
      method: 'POST',
      body: JSON.stringify({ note: input.value }),
    });
    state.tasks.get(open.sessionId)?.set(open.taskId, res.task);
    input.value = '';
    $('detail-error').textContent = '';
    render();
  } catch (err) {
    $('detail-error').textContent = err.message;
  }
}

function askDelete() {
  const open = state.openTask;
  if (!open) return;
  const dependents = dependentsOf(open.sessionId, open.taskId);
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

async function confirmDelete() {
  if ($('confirm-delete').returnValue !== 'delete') return;
  const open = state.openTask;
  if (!open) return;
  try {
    await api(`/api/tasks/${encodeURIComponent(open.sessionId)}/${encodeURIComponent(open.taskId)}`, { method: 'DELETE' });
    state.tasks.get(open.sessionId)?.delete(open.taskId);
    closeDetail();
  } catch (err) {
    const blocked = err.body?.blockedTasks;
    $('detail-error').textContent = blocked ? `${err.message}: ${blocked.map((id) => `#${id}`).join(', ')}` : err.message;
  }
}

async function setTheme(theme) {
  applyTheme(theme);
  try {
    await api('/api/theme', { method: 'POST', body: JSON.stringify({ theme }) });
  } catch (err) {
    showError(err);
  }
}

function showError(err) {
  $('view-subtitle').textContent = `Error: ${err.message}`;
}

// ----- keyboard --------------------------------------------------------------------------

function moveFocus(delta) {
  const cards = currentCards();
  if (!cards.length) return;
  state.focusIndex = Math.min(Math.max(state.focusIndex + delta, 0), cards.length - 1);
  renderMain();
  document.querySelector('.card.focused')?.scrollIntoView({ block: 'nearest' });
}

function onKey(e) {
  const typing = e.target.closest('input, textarea, select');
  if (e.key === 'Escape') {
    if (typing) e.target.blur();
    else if (state.openTask) closeDetail();
    return;
  }
  if (typing || e.metaKey || e.ctrlKey || e.altKey) return;
  const dialogOpen = document.querySelector('dialog[open]');
  if (dialogOpen) return;
  if (state.page === 'features' && e.key !== '/' && e.key !== '?') return;
  switch (e.key) {
    case '/': e.preventDefault(); $('search').focus(); break;
    case '?': $('help').showModal(); break;
    case 'j': case 'ArrowDown': e.preventDefault(); moveFocus(1); break;
    case 'k': case 'ArrowUp': e.preventDefault(); moveFocus(-1); break;
    case 'Enter': {
      const focused = currentCards()[state.focusIndex];
      if (focused) openTask(focused[0], String(focused[1].id));
      break;
    }
    case 'D': case 'd': if (state.openTask) askDelete(); break;
    default:
  }
}

// ----- start -----------------------------------------------------------------------------

function bind() {
  $('search').addEventListener('input', (e) => { state.search = e.target.value; render(); });
  $('project-filter').addEventListener('change', (e) => { state.project = e.target.value; render(); });
  $('active-only').addEventListener('change', (e) => { state.activeOnly = e.target.checked; render(); });
  $('limit').addEventListener('change', (e) => { state.limit = e.target.value; render(); });
  $('all-tasks').addEventListener('click', () => selectSession('*'));
  $('features-nav').addEventListener('click', () => showFeatures());
  $('theme').addEventListener('change', (e) => setTheme(e.target.value));
  $('notify').addEventListener('click', toggleNotify);
  $('help-button').addEventListener('click', () => $('help').showModal());
  $('detail-close').addEventListener('click', closeDetail);
  $('note-form').addEventListener('submit', submitNote);
  $('delete-button').addEventListener('click', askDelete);
  $('confirm-delete').addEventListener('close', confirmDelete);
  for (const b of document.querySelectorAll('[data-view]')) {
    b.addEventListener('click', () => { state.view = b.dataset.view; render(); });
  }
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', applyHash);
  // Relative times age even when nothing changes.
  setInterval(renderSidebar, 60_000);
}

async function start() {
  bind();
  connect();
  try {
    state.health = await api('/api/health');
    await loadAll();
  } catch (err) {
    showError(err);
  }
  applyHash();
  render();
  drainPending();
  document.body.dataset.ready = 'true';
}

start();
