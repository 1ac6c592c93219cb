// The board's state and every change to it. Pure: no DOM, no fetch, no timers, no clock. Each
// transition takes a state and returns { state, effects } with a new state object (the old one
// is never mutated, and a task or session that did not change keeps its identity, which is how
// the views know what to leave alone). Effects are what the caller must do:
//   { type: 'read', read }              fetch this (reads.js), begun at once with beginRead()
//   { type: 'completed', task, session } a task just completed (the chime, if asked for)
//   { type: 'waiting', session }        a session just started waiting for the user (likewise)
//   { type: 'notice', seq }             a notice is shown (a machine came or went): dismiss it
//                                       with dismissNotice(seq) after a few seconds
//
// Stale reads. A read whose answer replaces state (the session page, one session's tasks, every
// task, Activity, a full reload, the answer to a note or a delete) is begun with beginRead(), which notes
// the id of the newest event applied so far (`since`). While any read is outstanding, each data
// event applied (`update`, `session-state`, `theme`) is also kept in `log` with its id. When the
// answer comes, applySnapshot() lays it down and then re-applies, in order, the logged events
// with an id above that read's `since`: whatever a later event touched ends at the event's
// version, whatever it did not keeps the answer's. Events carry whole tasks and session
// summaries (a `session-state` the session's whole Activity item), so re-applying one is
// harmless. The log is trimmed to the oldest outstanding read and emptied when none is left.
// `resync` means events were missed, so the log no longer covers the reads in flight: it voids
// them (their answers are dropped) and asks for a full reload, which replaces everything.
//
// How one event changes the state (a task file, a session's summary or state) is in
// store-events.js: helpers that only this module calls.

// Relative, unlike the views' imports: the unit tests load this module in Node as well.
import { boardTeamName, limitSize, pageSessions, currentCards, planShown, todosShown } from './select.js';
import { keyed, machineState, putTask, sessionState, update, withItem, withKey, withoutItem, withoutKey } from './store-events.js';

/** A read that stays out this long (in events) is not trusted: the board reloads instead. */
const LOG_MAX = 5000;

export function initialState({ notify = false, limit = '20' } = {}) {
  return {
    sessions: new Map(), // id -> summary, as /api/sessions lists it
    activity: new Map(), // id -> item, as /api/activity lists it: recent sessions, task list or not
    activityLoaded: false,
    activityStale: false, // something changed that no event carried: read Activity again when shown
    agents: new Map(), // session id -> its subagents, as /api/sessions/:id/agents lists them
    agentsStale: new Set(), // sessions whose subagent counts changed since their list was read
    // Teams, plans and todos (contract §6) come without their data in events (`team-update`,
    // `plan-update`, `todos-update`): each marks what it names stale, and what is on screen is
    // read again. A burst while a read is out costs one more read, not one per event.
    teams: new Map(), // team name -> team, as /api/teams lists it
    teamsLoaded: false,
    teamsStale: false,
    messages: new Map(), // team name -> its inbox messages, oldest first (null: the server has no such team)
    messagesStale: new Set(),
    plans: new Map(), // slug -> plan with its Markdown (null: the server has no such plan)
    plansStale: new Set(),
    todos: new Map(), // session id -> its todo items (null: unknown to the server)
    todosStale: new Set(),
    tasks: new Map(), // session id -> Map(task key -> task); present = that session is loaded
    missing: new Set(), // sessions the server answered 404 for
    sessionsLimit: null, // the map holds at least the newest N sessions ('all': every one)
    allLoaded: false, // every session's tasks are loaded (/api/tasks/all)
    want: new Set(), // sessions whose tasks must be read (again)
    sessionsStale: false, // names or projects changed: read the session page again
    reload: true, // a full read is due (first load, resync)
    failed: new Set(), // read keys that failed: not retried until the stream reconnects
    lastEventId: 0,
    readSeq: 0,
    reads: new Map(), // seq -> token, outstanding reads
    log: [], // [{ id, event }] applied while reads are outstanding
    ready: false, // the first full read is in
    // The team board (contract §7): name -> machine, as /api/machines lists them (this one
    // first, `self`), kept current by `machine` events.
    machines: new Map(),
    notice: null, // { seq, text }: a short message ("gamma went offline"), dismissed by seq
    noticeSeq: 0,
    theme: 'system',
    health: null,
    error: null,
    detailError: null,
    page: 'tasks', // or 'features', 'activity', 'teams'
    activitySelected: null, // the session the Activity view details
    teamSelected: null, // the team the Teams view opens (its conversation), or null for all
    agentsOpen: null, // the session whose subagents the toolbar lists
    featuresMode: 'columns', // or 'graph'
    selected: null, // session id, '*' for all tasks, or null
    openTask: null, // { sessionId, taskId } (taskId is the task's key)
    focusIndex: -1,
    view: 'board', // or 'timeline', 'plan' (a session's plan, when it has one)
    search: '',
    project: '',
    machine: '', // the machine filter: '' for every machine
    activeOnly: false,
    needsYou: false, // only sessions waiting for the user
    limit,
    notify,
  };
}

function readKey(read) {
  if (read.kind === 'session') return `session:${read.sid}`;
  if (read.kind === 'agents') return `agents:${read.sid}`;
  if (read.kind === 'messages') return `messages:${read.team}`;
  if (read.kind === 'plan') return `plan:${read.slug}`;
  if (read.kind === 'todos') return `todos:${read.sid}`;
  return read.kind;
}

/** Every transition ends here: the reads the new state wants join the effects. */
function done(state, effects = []) {
  return { state, effects: [...effects, ...wantedReads(state).map((read) => ({ type: 'read', read }))] };
}

// ----- reads -------------------------------------------------------------------------------

export const needsAll = (s) => (s.page === 'tasks' && s.selected === '*') || s.search.trim() !== '';

/** The reads this state calls for that are not already in flight. */
export function wantedReads(state) {
  const inFlight = new Set([...state.reads.values()].map((t) => readKey(t.read)));
  const free = (read) => !inFlight.has(readKey(read)) && !state.failed.has(readKey(read));
  const selected = state.page === 'tasks' && state.selected !== '*' ? state.selected : null;
  if (state.reload || inFlight.has('full')) {
    const read = { kind: 'full', limit: state.limit, all: needsAll(state), selected, health: !state.health };
    return state.reload && free(read) ? [read] : [];
  }
  const out = [];
  // Activity is kept current by events; it is read again only where it shows: its own page, and
  // the empty board, whose message depends on whether any session runs at all.
  const activity = state.page === 'activity' ? !state.activityLoaded || state.activityStale
    : state.sessions.size === 0 && state.activityStale;
  if (activity && free({ kind: 'activity' })) out.push({ kind: 'activity' });
  const agentsOf = agentsShown(state);
  if (agentsOf && (!state.agents.has(agentsOf) || state.agentsStale.has(agentsOf))) {
    const read = { kind: 'agents', sid: agentsOf };
    if (free(read)) out.push(read);
  }
  out.push(...sideReads(state, free));
  // Every task (and every session with it) answers all the reads below.
  if (needsAll(state) && !state.allLoaded) {
    if (free({ kind: 'all' })) out.push({ kind: 'all' });
    return out;
  }
  if (inFlight.has('all')) return out;
  const wider = limitSize(state.limit) > limitSize(state.sessionsLimit);
  if ((state.sessionsStale || wider) && free({ kind: 'sessions' })) {
    out.push({ kind: 'sessions', limit: needsAll(state) ? 'all' : state.limit });
  }
  const sids = new Set(state.want);
  if (selected && !state.tasks.has(selected) && !state.missing.has(selected)) sids.add(selected);
  for (const s of pageSessions(state)) if (s.inProgress > 0 && !state.tasks.has(s.id)) sids.add(s.id);
  for (const sid of sids) {
    const read = { kind: 'session', sid, known: state.sessions.has(sid) || state.sessionsLimit === 'all' };
    if (free(read)) out.push(read);
  }
  return out;
}

/** Teams, a team's inbox, a plan, a session's todos: read where they show, when not held or
 * when an event said they changed. A team's inbox waits for the team list, so a link to a team
 * that does not exist asks nothing of the server. */
function sideReads(state, free) {
  const out = [];
  const want = (read) => { if (free(read)) out.push(read); };
  if ((state.page === 'teams' || boardTeamName(state)) && (!state.teamsLoaded || state.teamsStale)) want({ kind: 'teams' });
  const team = state.page === 'teams' ? state.teamSelected : null;
  if (team && state.teams.has(team) && (!state.messages.has(team) || state.messagesStale.has(team))) want({ kind: 'messages', team });
  const slug = planShown(state);
  if (slug && (!state.plans.has(slug) || state.plansStale.has(slug))) want({ kind: 'plan', slug });
  const sid = todosShown(state);
  if (sid && (!state.todos.has(sid) || state.todosStale.has(sid))) want({ kind: 'todos', sid });
  return out;
}

/** The session whose subagent list is on screen, if any. */
function agentsShown(state) {
  if (state.page === 'activity') return state.activitySelected;
  return state.page === 'tasks' && state.selected && state.agentsOpen === state.selected ? state.selected : null;
}

/** Starts a read: returns the token its answer (applySnapshot) or failure (failRead) carries. */
export function beginRead(state, read) {
  const token = { seq: state.readSeq + 1, since: state.lastEventId, read };
  const next = { ...state, readSeq: token.seq, reads: withKey(state.reads, token.seq, token) };
  if (read.kind === 'full') next.reload = false;
  if (['full', 'all', 'sessions'].includes(read.kind)) next.sessionsStale = false;
  if (read.kind === 'session') next.want = withoutItem(next.want, read.sid);
  if (read.kind === 'full' || read.kind === 'activity') next.activityStale = false;
  if (read.kind === 'agents') next.agentsStale = withoutItem(next.agentsStale, read.sid);
  if (read.kind === 'teams') next.teamsStale = false;
  if (read.kind === 'messages') next.messagesStale = withoutItem(next.messagesStale, read.team);
  if (read.kind === 'plan') next.plansStale = withoutItem(next.plansStale, read.slug);
  if (read.kind === 'todos') next.todosStale = withoutItem(next.todosStale, read.sid);
  return { state: next, token };
}

/**
 * Lays down a read's answer, then re-applies the events that came after the read was sent.
 * `snapshot.read` is beginRead's token (without one the answer is taken as current). Fields:
 * `replace` (drop everything first: a full reload), `sessions` + `limit` (the list asked for
 * with that limit), `allTasks` (/api/tasks/all), `tasks` (Map session id -> its task list, or
 * null for 404), `task` ({ sessionId, key, task }: a note's answer), `removed` ({ sessionId,
 * key }: a delete's answer), `activity` (/api/activity), `agents` ({ sid, list }: a session's
 * subagents, list null for 404), `teams` (/api/teams), `messages` ({ team, list }: a team's
 * inbox, list null for 404), `plan` ({ slug, plan }: plan null for 404), `todos` ({ sid, list }:
 * a session's todo items, list null for 404), `machines` (/api/machines), `theme`, `health`.
 */
export function applySnapshot(state, snapshot) {
  const token = snapshot.read ?? null;
  if (token && !state.reads.has(token.seq)) return done(state); // voided by a resync
  let next = token ? { ...state, reads: withoutKey(state.reads, token.seq) } : state;
  next = lay(next, snapshot);
  if (token) {
    for (const { id, event } of state.log) if (id > token.since) next = reapply(next, event);
  }
  const full = snapshot.replace || token?.read.kind === 'full';
  return done(trimLog({ ...next, ready: next.ready || Boolean(full), error: token?.read.kind === 'write' ? next.error : null }));
}

/** A read failed: it is not asked again until the stream reconnects (or the user asks). */
export function failRead(state, token, message) {
  if (!state.reads.has(token.seq)) return done(state);
  let next = { ...state, reads: withoutKey(state.reads, token.seq) };
  if (token.read.kind !== 'write') {
    next = { ...next, failed: withItem(next.failed, readKey(token.read)), error: message };
  }
  if (token.read.kind === 'full') next = { ...next, reload: true, ready: true };
  return done(trimLog(next));
}

function trimLog(state) {
  if (!state.reads.size) return state.log.length ? { ...state, log: [] } : state;
  const oldest = Math.min(...[...state.reads.values()].map((t) => t.since));
  const log = state.log.filter((e) => e.id > oldest);
  return log.length === state.log.length ? state : { ...state, log };
}

function lay(state, snap) {
  let next = state;
  if (snap.replace) {
    next = { ...next, sessions: new Map(), tasks: new Map(), missing: new Set(), want: new Set(), allLoaded: false, sessionsLimit: null, agents: new Map() };
  }
  if (snap.activity) next = { ...next, activity: new Map(snap.activity.map((s) => [s.id, s])), activityLoaded: true };
  if (snap.agents) next = { ...next, agents: withKey(next.agents, snap.agents.sid, snap.agents.list ?? []) };
  if (snap.teams) next = { ...next, teams: new Map(snap.teams.map((t) => [t.name, t])), teamsLoaded: true };
  if (snap.messages) next = { ...next, messages: withKey(next.messages, snap.messages.team, snap.messages.list ?? null) };
  if (snap.plan) next = { ...next, plans: withKey(next.plans, snap.plan.slug, snap.plan.plan ?? null) };
  if (snap.todos) next = { ...next, todos: withKey(next.todos, snap.todos.sid, snap.todos.list ?? null) };
  if (snap.machines) next = { ...next, machines: new Map(snap.machines.map((m) => [m.name, m])) };
  if (snap.theme) next = { ...next, theme: snap.theme };
  if (snap.health) next = { ...next, health: snap.health };
  if (snap.sessions) next = laySessions(next, snap.sessions, snap.limit ?? 'all');
  if (snap.allTasks) next = layAllTasks(next, snap.allTasks);
  for (const [sid, list] of snap.tasks ?? []) next = list ? layTasks(next, sid, list) : layMissing(next, sid);
  if (snap.task && next.tasks.has(snap.task.sessionId)) {
    const [key, task] = keyed(snap.task.task, snap.task.key);
    next = putTask(next, snap.task.sessionId, key, task);
  }
  if (snap.removed && next.tasks.has(snap.removed.sessionId)) {
    const { sessionId, key } = snap.removed;
    next = { ...next, tasks: withKey(next.tasks, sessionId, withoutKey(next.tasks.get(sessionId), key)) };
  }
  return next;
}

/** A complete list (limit `all`, or shorter than the limit) replaces the sessions; a full page
 * only updates those it lists, since it says nothing about the ones beyond it. */
function laySessions(state, list, limit) {
  const complete = limit === 'all' || list.length < limitSize(limit);
  const sessions = complete ? new Map() : new Map(state.sessions);
  for (const s of list) sessions.set(s.id, s);
  const tasks = complete ? new Map([...state.tasks].filter(([sid]) => sessions.has(sid))) : state.tasks;
  const sessionsLimit = complete || limitSize(state.sessionsLimit) === Infinity ? 'all'
    : limitSize(limit) > limitSize(state.sessionsLimit) ? limit : state.sessionsLimit;
  return { ...state, sessions, tasks, sessionsLimit };
}

function layAllTasks(state, list) {
  const tasks = new Map([...state.sessions.keys()].map((sid) => [sid, new Map()]));
  list.forEach((t, i) => {
    const { sessionId, sessionName, project, machine, ...rest } = t;
    if (!tasks.has(sessionId)) tasks.set(sessionId, new Map());
    const [key, task] = keyed(rest, `?${i}`);
    tasks.get(sessionId).set(key, task);
  });
  return { ...state, tasks, allLoaded: true, want: new Set(), missing: new Set() };
}

function layTasks(state, sid, list) {
  const map = new Map(list.map((t, i) => keyed(t, `?${i}`)));
  return { ...state, tasks: withKey(state.tasks, sid, map), want: withoutItem(state.want, sid), missing: withoutItem(state.missing, sid) };
}

function layMissing(state, sid) {
  return { ...state, sessions: withoutKey(state.sessions, sid), tasks: withoutKey(state.tasks, sid), want: withoutItem(state.want, sid), missing: withItem(state.missing, sid) };
}

// ----- live events -------------------------------------------------------------------------

/** One live event (contract §4); `id` is its SSE id (EventSource's `lastEventId`). */
export function applyEvent(state, event, id) {
  const effects = [];
  const hasId = Number.isFinite(id);
  let next = hasId ? { ...state, lastEventId: id } : state;
  switch (event?.type) {
    case 'connected':
      // A new connection is the moment to try failed reads again.
      if (next.failed.size) next = { ...next, failed: new Set() };
      break;
    case 'resync':
      next = resync(next);
      break;
    case 'metadata-update':
      next = { ...next, sessionsStale: true, activityStale: true };
      break;
    case 'session-state':
      next = record(sessionState(next, event, effects, false), event, hasId ? id : Infinity);
      break;
    case 'theme':
      next = record(setThemeData(next, event.theme), event, hasId ? id : Infinity);
      break;
    case 'update':
      next = record(update(next, event, effects, false), event, hasId ? id : Infinity);
      break;
    case 'machine':
      next = record(machineState(next, event, effects, false), event, hasId ? id : Infinity);
      break;
    case 'team-update':
      next = teamChanged(next, event.team);
      break;
    // Marked even when not held: a read of it may be out, and its answer may be older.
    case 'plan-update':
      if (typeof event.slug === 'string') next = { ...next, plansStale: withItem(next.plansStale, event.slug) };
      break;
    case 'todos-update':
      if (typeof event.sessionId === 'string') next = { ...next, todosStale: withItem(next.todosStale, event.sessionId) };
      break;
    default:
  }
  return done(next, effects);
}

function resync(state) {
  // Events were missed: whatever is held of teams, plans and todos may be old too.
  return {
    ...state, reads: new Map(), log: [], reload: true, failed: new Set(),
    teamsStale: true, messagesStale: new Set(state.messages.keys()),
    plansStale: new Set(state.plans.keys()), todosStale: new Set(state.todos.keys()),
  };
}

/** A team's config, inboxes or task list changed (or it went): its members and its inbox are
 * read again where they show. */
function teamChanged(state, team) {
  let next = state.teamsStale ? state : { ...state, teamsStale: true };
  if (typeof team === 'string') next = { ...next, messagesStale: withItem(next.messagesStale, team) };
  return next;
}

function record(state, event, id) {
  if (!state.reads.size) return state;
  if (state.log.length >= LOG_MAX) return resync(state);
  return { ...state, log: [...state.log, { id, event }] };
}

function reapply(state, event) {
  if (event.type === 'theme') return setThemeData(state, event.theme);
  if (event.type === 'session-state') return sessionState(state, event, [], true);
  if (event.type === 'machine') return machineState(state, event, [], true);
  return update(state, event, [], true);
}

function setThemeData(state, theme) {
  return typeof theme === 'string' ? { ...state, theme } : state;
}


// ----- what the user does ------------------------------------------------------------------

export function selectSession(state, id) {
  const keepOpen = state.openTask && (id === '*' || state.openTask.sessionId === id);
  return done({
    ...state,
    page: 'tasks',
    selected: id,
    focusIndex: -1,
    openTask: keepOpen ? state.openTask : null,
    error: null,
    failed: withoutItem(state.failed, `session:${id}`),
  });
}

export function openTask(state, sid, taskId) {
  let next = {
    ...state,
    page: 'tasks',
    selected: state.selected === '*' ? '*' : sid,
    openTask: { sessionId: sid, taskId: String(taskId) },
    detailError: null,
  };
  if (next.selected !== state.selected) next.focusIndex = -1;
  const index = currentCards(next).findIndex(([s, t]) => s === sid && String(t.id) === String(taskId));
  if (index >= 0) next = { ...next, focusIndex: index };
  return done(next);
}

export function closeTask(state) {
  return done({ ...state, openTask: null });
}

/** The focused card opens. */
export function openFocused(state) {
  const card = currentCards(state)[Math.min(state.focusIndex, currentCards(state).length - 1)];
  return card ? openTask(state, card[0], card[1].id) : done(state);
}

export function moveFocus(state, delta) {
  const count = currentCards(state).length;
  if (!count) return done(state);
  const from = Math.min(state.focusIndex, count - 1);
  return done({ ...state, focusIndex: Math.min(Math.max(from + delta, 0), count - 1) });
}

export function showFeatures(state, mode = state.featuresMode) {
  return done({ ...state, page: 'features', featuresMode: mode, error: null });
}

/** The Activity view, detailing `sid` (a session with or without a task list) or none. */
export function showActivity(state, sid = null) {
  return done({ ...state, page: 'activity', activitySelected: sid, error: null, failed: sid ? withoutItem(state.failed, `agents:${sid}`) : state.failed });
}

/** The Teams view: every team with its members, or one team (`team`) with its inbox too. */
export function showTeams(state, team = null) {
  const failed = team ? withoutItem(withoutItem(state.failed, `messages:${team}`), 'teams') : withoutItem(state.failed, 'teams');
  return done({ ...state, page: 'teams', teamSelected: team, error: null, failed });
}

/** Shows or hides the subagents of `sid` under the toolbar. */
export function toggleAgents(state, sid) {
  return done({ ...state, agentsOpen: state.agentsOpen === sid ? null : sid, failed: withoutItem(state.failed, `agents:${sid}`) });
}

/** A parsed location (router.js): null leaves everything as it is. */
export function route(state, where) {
  if (!where) return done(state);
  if (where.page === 'features') return showFeatures(state, where.mode);
  if (where.page === 'activity') return showActivity(state, where.selected ?? null);
  if (where.page === 'teams') return showTeams(state, where.selected ?? null);
  if (where.selected === '*') return selectSession(state, '*');
  let next = selectSession(state, where.selected).state;
  // An address names the session's tab: its plan, or (for the plain address) not the plan.
  if (where.view === 'plan') next = { ...next, view: 'plan' };
  else if (next.view === 'plan') next = { ...next, view: 'board' };
  return where.task ? openTask(next, where.selected, where.task) : closeTask(next);
}

const setter = (field) => (state, value) => done(state[field] === value ? state : { ...state, [field]: value });
export const setFeaturesMode = setter('featuresMode');
export const setSearch = setter('search');
export const setProject = setter('project');
export const setMachine = setter('machine');
export const setActiveOnly = setter('activeOnly');
export const setNeedsYou = setter('needsYou');
export const setLimit = setter('limit');
export const setView = setter('view');
export const setTheme = setter('theme');
export const setNotify = setter('notify');
export const setError = setter('error');
export const setDetailError = setter('detailError');

/** The notice numbered `seq` has been on screen long enough (a newer one stays). */
export function dismissNotice(state, seq) {
  return done(state.notice?.seq === seq ? { ...state, notice: null } : state);
}
