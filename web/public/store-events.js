// What one live event changes: a task file (`update`), a session's summary and state (`update`,
// `session-state`), a task folder gone, a machine of the team board coming or going (`machine`). Pure helpers of store.js, which alone calls them (its
// applyEvent, and its stale-read rule that lays logged events again over a read's answer with
// `replay` set), so every transition of the board still starts in store.js.

import { isWaiting, statusOf } from './select.js';

// ----- small immutable helpers -------------------------------------------------------------

export const withKey = (map, key, value) => new Map(map).set(key, value);
export const withoutKey = (map, key) => { const m = new Map(map); m.delete(key); return m; };
export const withItem = (set, item) => (set.has(item) ? set : new Set(set).add(item));
export const withoutItem = (set, item) => { if (!set.has(item)) return set; const s = new Set(set); s.delete(item); return s; };
const fileStem = (file) => (typeof file === 'string' ? file.replace(/\.json$/, '') : null);

/** How a task is keyed: its own id, else its file's name (`7.json` → `7`), as the API's paths
 * know it; a read does not name files, so an id-less task from one gets a stand-in key. */
export function keyed(task, fallback) {
  const key = task.id ?? fallback;
  return [String(key), task.id == null ? { ...task, id: key } : task];
}

/**
 * A session's news laid on both lists, the sidebar's task lists (`taskList`) and Activity:
 * `whole` is a whole summary or Activity item (replacing what was known), `fields` only the
 * state fields of a `session-state` that came without one. Also notes what needs more than the
 * summary: a session that starts waiting (the chime), and subagent counts that moved while
 * that session's list is held (it is read again if shown).
 */
function putSummary(state, sid, { whole = null, fields = null, taskList }, effects, replay) {
  const prevSession = state.sessions.get(sid);
  const prevItem = state.activity.get(sid);
  const before = prevSession ?? prevItem ?? null;
  let next = state;
  if (taskList) {
    const summary = whole ? { ...whole, id: whole.id ?? sid } : { ...prevSession, ...fields };
    next = { ...next, sessions: withKey(next.sessions, sid, summary), missing: withoutItem(next.missing, sid) };
  }
  const base = prevItem ?? prevSession ?? { id: sid };
  const item = { ...base, ...(whole ?? fields), id: whole?.id ?? base.id ?? sid };
  if (taskList) item.hasTaskList = true;
  next = { ...next, activity: withKey(next.activity, sid, item) };
  if (replay) return next;
  if (next.notify && isWaiting(item) && !isWaiting(before)) effects.push({ type: 'waiting', session: item });
  const [was, is] = [before?.subagents, item.subagents];
  if (next.agents.has(sid) && (was?.running !== is?.running || was?.total !== is?.total)) {
    next = { ...next, agentsStale: withItem(next.agentsStale, sid) };
  }
  return next;
}

/** A `session-state` event (contract §6): `session` is the session's Activity item, so even a
 * session this page never heard of is shown without a read. */
export function sessionState(state, event, effects, replay) {
  const sid = event.sessionId;
  if (typeof sid !== 'string') return state;
  const whole = event.session && typeof event.session === 'object' ? event.session : null;
  if (!whole && !state.sessions.has(sid) && !state.activity.has(sid)) return { ...state, activityStale: true };
  const fields = { state: event.state, live: event.live, waitingFor: event.waitingFor ?? null };
  const taskList = state.sessions.has(sid) || whole?.hasTaskList === true;
  return putSummary(state, sid, { whole: whole && { ...whole, ...fields }, fields, taskList }, effects, replay);
}

export function putTask(state, sid, key, task) {
  return { ...state, tasks: withKey(state.tasks, sid, withKey(state.tasks.get(sid), key, task)) };
}

/** An `update` event. `replay`: laid again over an answer, where the page's own choices
 * (selection, open task) and the chime were settled the first time. */
export function update(state, event, effects, replay) {
  const sid = event.sessionId;
  if (typeof sid !== 'string') return state;
  if (event.event === 'unlinkDir') return dropSession(state, sid, replay);
  let next = { ...state, missing: withoutItem(state.missing, sid) };
  if (event.session && typeof event.session === 'object') {
    next = putSummary(next, sid, { whole: event.session, taskList: true }, effects, replay);
  }
  // A new folder has no tasks yet; its files' `add` events follow.
  if (event.event === 'addDir') return next.tasks.has(sid) ? next : { ...next, tasks: withKey(next.tasks, sid, new Map()) };
  const tasks = next.tasks.get(sid);
  const stem = fileStem(event.file);
  if (!stem) return next;
  if (event.event === 'unlink') {
    if (!tasks) return next;
    next = { ...next, tasks: withKey(next.tasks, sid, withoutKey(tasks, stem)) };
    const open = next.openTask;
    if (!replay && open?.sessionId === sid && open.taskId === stem) next = { ...next, openTask: null };
    return next;
  }
  // A session whose tasks this page never read, or a file unreadable right now (being
  // written): read that session, and only it.
  if (!tasks || !event.task || typeof event.task !== 'object') return { ...next, want: withItem(next.want, sid) };
  const [key, task] = keyed(event.task, stem);
  const before = tasks.get(key);
  if (!replay && next.notify && before && statusOf(before) !== 'completed' && task.status === 'completed') {
    effects.push({ type: 'completed', task, session: next.sessions.get(sid) ?? null });
  }
  return putTask(next, sid, key, task);
}

/** A task folder gone (`unlinkDir`): the session may still run, so Activity keeps it, without a
 * task list. */
function dropSession(state, sid, replay) {
  let next = { ...state, sessions: withoutKey(state.sessions, sid), tasks: withoutKey(state.tasks, sid), want: withoutItem(state.want, sid) };
  const item = next.activity.get(sid);
  if (item) next = { ...next, activity: withKey(next.activity, sid, { ...item, hasTaskList: false }), activityStale: true };
  if (!replay && next.selected === sid) next = { ...next, selected: null };
  if (!replay && next.openTask?.sessionId === sid) next = { ...next, openTask: null };
  return next;
}

/**
 * A `machine` event (contract §7): another machine of the team board came or went. Its sessions
 * are marked at once (`stale`: what it showed last), on the sidebar's lists and in Activity,
 * without a read, and the user is told in a notice. Sessions keep their identity when their
 * mark does not change.
 */
export function machineState(state, event, effects, replay) {
  const { name, online } = event;
  if (typeof name !== 'string' || typeof online !== 'boolean') return state;
  const before = state.machines.get(name);
  const mark = (map) => {
    let out = map;
    for (const [sid, s] of map) {
      if (s.machine !== name || (s.stale === true) === !online) continue;
      if (out === map) out = new Map(map);
      out.set(sid, { ...s, stale: !online });
    }
    return out;
  };
  let next = {
    ...state,
    machines: withKey(state.machines, name, { sessions: 0, ...before, name, online }),
    sessions: mark(state.sessions),
    activity: mark(state.activity),
  };
  // A machine not heard of before is news either way; a repeat of what is known is not.
  const was = before ? before.online !== false : !online;
  if (replay || before?.self || was === online) return next;
  const seq = next.noticeSeq + 1;
  const text = online ? `${name} ${before ? 'is back online' : 'joined the board'}` : `${name} went offline`;
  next = { ...next, noticeSeq: seq, notice: { seq, text } };
  effects.push({ type: 'notice', seq });
  return next;
}
