// What the board shows, derived from the store's state (store.js). Pure functions of the state
// (and of `now` where time matters), so the views, the keyboard and the unit tests agree on
// which cards exist and in what order. Results that cost a walk over every task are cached per
// state object: a state is never mutated, so one frame's views share one computation.

export const STATUSES = ['pending', 'in_progress', 'completed'];
const STALE_MS = 7 * 24 * 3600 * 1000;
/** How long work left in progress by an ended session still shows under "Stopped" (contract §6). */
const STOPPED_MS = 24 * 3600 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `limit` as a number of sessions ('all' is every one; none yet is zero). */
export const limitSize = (limit) => (limit === 'all' ? Infinity : Number(limit) || 0);

function perState(fn) {
  const cache = new WeakMap();
  return (state) => {
    if (!cache.has(state)) cache.set(state, fn(state));
    return cache.get(state);
  };
}

/** Title, else slug, else the id: a UUID by its first 8 characters, anything else whole
 * (`session-1a2b3c4d` folders all start alike, so their prefix tells nothing apart). */
export function sessionName(s) {
  return s.name ?? s.slug ?? (UUID.test(s.id) ? s.id.slice(0, 8) : s.id);
}

export function statusOf(task) {
  return STATUSES.includes(task.status) ? task.status : 'pending';
}

/** A task's id list as strings; a malformed field (not an array) is no list at all. */
export function ids(list) {
  return Array.isArray(list) ? list.map(String) : [];
}

export function compareIds(a, b) {
  const [x, y] = [Number(a), Number(b)];
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  if (Number.isFinite(x)) return -1;
  if (Number.isFinite(y)) return 1;
  return String(a).localeCompare(String(b));
}

const byModified = (a, b) => Date.parse(b.modifiedAt) - Date.parse(a.modifiedAt) || a.id.localeCompare(b.id);

/** Agent bookkeeping (`metadata._internal`) is never shown or counted. */
export function visibleTasks(state, sid) {
  const tasks = [...(state.tasks.get(sid)?.values() ?? [])];
  return tasks.filter((t) => t.metadata?._internal !== true);
}

/** Open blockers: an unknown blocker id counts as blocking (contract §1). */
export function openBlockers(state, sid, task) {
  const tasks = state.tasks.get(sid);
  return ids(task.blockedBy).filter((id) => tasks?.get(id)?.status !== 'completed');
}

export function dependentsOf(state, sid, taskId) {
  return visibleTasks(state, sid).filter((t) => ids(t.blockedBy).includes(String(taskId)));
}

// ----- agents (contract §6) ----------------------------------------------------------------
// A summary from an older payload has no `state`/`live`: it is taken as not ended, so what an
// old shape showed as active still is.

/** The process behind the session is gone (or the server says so). */
export const isEnded = (s) => s?.live === false || s?.state === 'ended';

/** Work in progress that an agent is still there to do: the sidebar's dot and "Active only". */
export const isActive = (s) => s.inProgress > 0 && !isEnded(s);

/** Waiting for the user; not the last data of a machine that went offline (nobody can answer
 * there from here, and it may have stopped long ago). */
export const isWaiting = (s) => s?.state === 'waiting' && s.stale !== true;

/** An in-progress task whose session has ended: nobody is working on it any more. */
export function isStaleTask(session, task) {
  return statusOf(task) === 'in_progress' && isEnded(session);
}

/** Newest sign of life: the transcript or registry (lastActivityAt), else the task files. */
export function activityTime(s) {
  return Math.max(Date.parse(s.lastActivityAt ?? '') || 0, Date.parse(s.modifiedAt ?? '') || 0);
}

/** Sessions waiting for the user, with or without a task list. */
export const waitingSessions = perState((state) => {
  const all = new Map([...state.activity, ...state.sessions]);
  return [...all.values()].filter(isWaiting);
});

/** Waiting sessions first: they are what the user has to act on. */
const waitingFirst = (a, b) => Number(isWaiting(b)) - Number(isWaiting(a));

/** The Activity view's rows: every recent session, waiting ones first, then newest activity. */
export const activityList = perState((state) => [...state.activity.values()]
  .sort((a, b) => waitingFirst(a, b) || activityTime(b) - activityTime(a) || a.id.localeCompare(b.id)));

/** Archived: quiet for a week, nothing active, and no process behind it. */
export function isStale(s, now) {
  return s.live !== true && !isActive(s) && now - Date.parse(s.modifiedAt) > STALE_MS;
}

function taskMatches(t, q) {
  return [t.subject, t.description, t.activeForm, t.owner, `#${t.id}`]
    .some((v) => v && String(v).toLowerCase().includes(q));
}

/** By its own fields, or by the text of its tasks when they are loaded (a search asks for every
 * task, so an unloaded session only waits for that answer). */
function matchesSearch(state, s, q) {
  if (!q) return true;
  const hay = [s.id, s.name, s.slug, s.project, s.description, s.gitBranch];
  if (hay.some((v) => v && String(v).toLowerCase().includes(q))) return true;
  return visibleTasks(state, s.id).some((t) => taskMatches(t, q));
}

export const query = (state) => state.search.trim().toLowerCase();

/** The sidebar's sessions: every task list, plus the sessions without one that wait for the
 * user (nowhere else on this page would show them). */
function sidebarSource(state) {
  const waiting = [...state.activity.values()].filter((s) => isWaiting(s) && !state.sessions.has(s.id));
  return [...state.sessions.values(), ...waiting];
}

/** Sessions that pass the sidebar's filters, waiting ones first, then newest first. */
export const filteredSessions = perState((state) => {
  const q = query(state);
  return sidebarSource(state)
    .filter((s) => !state.project || s.project === state.project)
    .filter((s) => !state.machine || machineOf(state, s) === state.machine)
    .filter((s) => !state.activeOnly || isActive(s))
    .filter((s) => !state.needsYou || isWaiting(s))
    .filter((s) => matchesSearch(state, s, q))
    .sort((a, b) => waitingFirst(a, b) || byModified(a, b));
});

/** The sidebar's two lists: the page's fresh sessions, and the stale ones under "Archived". */
export function sidebarSessions(state, now) {
  const sessions = filteredSessions(state);
  const fresh = sessions.filter((s) => !isStale(s, now)).slice(0, limitSize(state.limit));
  return { fresh, stale: sessions.filter((s) => isStale(s, now)) };
}

/** The newest `limit` sessions, unfiltered: the page the server was asked for. */
export function pageSessions(state) {
  return [...state.sessions.values()].sort(byModified).slice(0, limitSize(state.limit));
}

/** Sessions a full load reads the tasks of: the open one, and those with work in progress on
 * the first page (the Live list shows their tasks). */
export function preloadIds(sessions, limit, selected) {
  const active = [...sessions].sort(byModified).slice(0, limitSize(limit)).filter((s) => s.inProgress > 0);
  return [...new Set([selected, ...active.map((s) => s.id)].filter((id) => id && id !== '*'))];
}

export const projects = perState((state) =>
  [...new Set([...state.sessions.values()].map((s) => s.project).filter(Boolean))].sort());

/** The tasks the current view shows, as [sessionId, task] pairs, in column order. */
export const currentCards = perState((state) => {
  const q = query(state);
  const all = state.selected === '*';
  const sids = all ? filteredSessions(state).map((s) => s.id) : state.selected ? [state.selected] : [];
  const pairs = [];
  for (const sid of sids) {
    for (const t of visibleTasks(state, sid)) if (!all || !q || taskMatches(t, q)) pairs.push([sid, t]);
  }
  const byId = (a, b) => compareIds(a[1].id, b[1].id);
  return STATUSES.flatMap((status) => pairs.filter(([, t]) => statusOf(t) === status).sort(byId));
});

/** The keyboard cursor, kept inside the cards that exist now. */
export function focusIndex(state) {
  return Math.min(state.focusIndex, currentCards(state).length - 1);
}

const inProgress = perState((state) =>
  [...state.sessions.values()].sort(byModified).flatMap((s) => visibleTasks(state, s.id)
    .filter((t) => t.status === 'in_progress')
    .sort((a, b) => compareIds(a.id, b.id))
    .map((t) => [s, t])));

/** Current work: in-progress tasks of every loaded session still running, newest session first. */
export const liveTasks = perState((state) => inProgress(state).filter(([s]) => !isEnded(s)));

/** Work its session left in progress when it ended (stale, contract §6), touched in the last
 * day: shown apart from current work, so the user sees what was left unfinished. */
export function stoppedTasks(state, now) {
  return inProgress(state).filter(([s, t]) => isEnded(s) && now - (Date.parse(t.updatedAt ?? s.modifiedAt) || 0) < STOPPED_MS);
}

export function openTaskData(state) {
  const open = state.openTask;
  return open ? state.tasks.get(open.sessionId)?.get(open.taskId) ?? null : null;
}

/** Why the main area shows a message instead of cards, or null when it shows cards. */
export function emptyReason(state) {
  const sel = state.selected;
  // Sessions run but none writes a task list: the task tools are likely off (contract §6).
  if (state.sessions.size === 0) return state.activity.size ? 'no-task-lists' : 'no-sessions';
  if (!sel) return 'pick';
  if (sel === '*') return state.allLoaded ? null : 'loading';
  if (state.missing.has(sel)) return 'not-found';
  // A session beyond the loaded page is looked up in the whole list before it is called gone.
  if (!state.sessions.has(sel)) return state.sessionsLimit === 'all' ? 'not-found' : 'loading';
  if (!state.tasks.has(sel)) return 'loading';
  if (visibleTasks(state, sel).length === 0) return 'no-tasks';
  return null;
}

// ----- machines (contract §7, the team board) ----------------------------------------------
// On a team board every list item carries `machine`; another machine's items carry `stale`
// too (true: that machine is offline, and this is its last data). Without a team board no
// item names a machine, and /api/machines lists only this one: nothing here shows.

/** This machine's name (the /api/machines entry marked `self`), or null. */
export const selfMachine = perState((state) => [...state.machines.values()].find((m) => m.self === true)?.name ?? null);

/** The machine a session is on: its `machine`, else this one (Activity items, which only this
 * machine's files give, carry none). */
export const machineOf = (state, s) => s.machine ?? selfMachine(state);

/** Another machine's session whose machine is offline: what it showed last. */
export const isOffline = (s) => s?.stale === true;

/** The machine a session is labelled with: its `machine`, or null off a team board. */
export const machineLabel = (s) => (typeof s?.machine === 'string' ? s.machine : null);

/**
 * The machines the filter offers, as { name, online, self }: this one first, then the others
 * by name; a machine a session names but /api/machines did not list (yet) is offered too.
 * Fewer than two means no team board: the filter is hidden.
 */
export const machineList = perState((state) => {
  const out = new Map();
  for (const m of state.machines.values()) out.set(m.name, { name: m.name, online: m.online !== false, self: m.self === true });
  for (const s of state.sessions.values()) {
    if (typeof s.machine === 'string' && !out.has(s.machine)) out.set(s.machine, { name: s.machine, online: !isOffline(s), self: false });
  }
  return [...out.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
});

// ----- teams, plans and todos (contract §6) ------------------------------------------------

/** Every agent team, as /api/teams lists them (newest first). */
export const teamList = perState((state) => [...state.teams.values()]);

/** The session the board shows (not All tasks), or null. */
function shownSession(state) {
  if (state.page !== 'tasks' || !state.selected || state.selected === '*') return null;
  return state.sessions.get(state.selected) ?? null;
}

/** The team whose members the board shows beside the columns: the shown session's `team`. */
export function boardTeamName(state) {
  return shownSession(state)?.team ?? null;
}

/** The slug of the plan on screen: the Plan tab of a session that has one. */
export function planShown(state) {
  const s = shownSession(state);
  return state.view === 'plan' && s?.planSlug ? s.planSlug : null;
}

/** What the main area draws for a session: the Plan tab falls back to the board for a session
 * without a plan. */
export function sessionView(state) {
  if (planShown(state)) return 'plan';
  return state.view === 'timeline' ? 'timeline' : 'board';
}

/** The session whose todo items are on screen: the Activity detail of a session that keeps no
 * task list (its TodoWrite list is all there is to show of its work). */
export function todosShown(state) {
  const sid = state.page === 'activity' ? state.activitySelected : null;
  if (!sid || state.sessions.has(sid)) return null;
  const item = state.activity.get(sid);
  return item && item.hasTaskList !== true ? sid : null;
}

function parseProtocol(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

const clip = (text, n = 120) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const str = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);

/**
 * An inbox message as the conversation shows it: `{ compact: false }` for a message one agent
 * wrote to another (its text is Markdown), or `{ compact: true, text }` for a protocol message
 * (`kind` ≠ `message`: idle notices, shutdown requests and answers, task assignments), told in
 * one line instead of its JSON.
 */
export function describeMessage(m) {
  const kind = typeof m.kind === 'string' ? m.kind : 'message';
  if (kind === 'message') return { compact: false };
  const p = parseProtocol(typeof m.text === 'string' ? m.text : '');
  const from = str(m.from) ?? 'someone';
  const to = str(m.to) ?? 'someone';
  const reason = (r) => (str(r) ? `: ${clip(str(r))}` : '');
  let text;
  switch (kind) {
    case 'idle_notification':
      text = `${from} is idle${str(p.idleReason) ? ` (${str(p.idleReason)})` : ''}`;
      break;
    case 'shutdown_request':
      text = `${from} asks ${to} to shut down${reason(p.reason)}`;
      break;
    case 'shutdown_approved':
      text = `${from} agreed to shut down`;
      break;
    case 'shutdown_rejected':
      text = `${from} declined to shut down${reason(p.reason)}`;
      break;
    case 'shutdown_response':
      text = p.approve === true ? `${from} agreed to shut down` : `${from} declined to shut down${reason(p.reason)}`;
      break;
    case 'teammate_terminated':
      text = `${str(p.teammate) ?? str(p.name) ?? from} was stopped`;
      break;
    case 'task_assignment': {
      const what = [p.taskId != null ? `#${p.taskId}` : null, str(p.subject) ? clip(str(p.subject), 80) : null].filter(Boolean).join(' ');
      text = `${str(p.assignedBy) ?? from} assigned ${what || 'a task'} to ${to}`;
      break;
    }
    default:
      text = `${from} → ${to}: ${kind.replace(/_/g, ' ')}`;
  }
  return { compact: true, text };
}

/** Keys for a team's messages, stable while the inbox grows (a message has no id of its own:
 * sender, recipient and time name it, and a repeat of those is counted). */
export function messageKeys(list) {
  const seen = new Map();
  return list.map((m) => {
    const base = `${m.from}\u0000${m.to}\u0000${m.timestamp}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}\u0000${n}`;
  });
}

/** Tasks that are work: agent bookkeeping (`metadata._internal`) is in neither count nor
 * progress (contract §6), so the total is the three counters, not `taskCount` (every file). */
export function workTotal(s) {
  return (s.completed ?? 0) + (s.inProgress ?? 0) + (s.pending ?? 0);
}
