// What each read the store asks for (store.js, wantedReads) fetches, turned into the snapshot
// applySnapshot() lays down. Sessions come a page at a time (`limit`; the server has no offset,
// so "more" is a larger limit); a session's tasks are read when it is opened or when it changes
// without having been read; every task only for the All tasks view and for search. Activity
// (every recent session, task list or not) comes with the first read, since the empty board and
// the Needs-you count depend on it, and so do the team board's machines (kept current by
// `machine` events); a session's subagents, the teams, a team's inbox, a plan and
// a session's todo items only while they are shown.

import { api } from '/common.js';
import { preloadIds } from '/select.js';

const sessionPath = (sid) => `/api/sessions/${encodeURIComponent(sid)}`;

/** An answer, or null when the server does not have what was asked for. */
async function orNull(answer) {
  try {
    return await answer;
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

/** One session's tasks; null when the server no longer has it. */
const sessionTasks = (sid) => orNull(api(sessionPath(sid)));

/** Reads the tasks of `sids` into a Map for the snapshot's `tasks`. */
async function tasksOf(sids) {
  const lists = await Promise.all(sids.map(sessionTasks));
  return new Map(sids.map((sid, i) => [sid, lists[i]]));
}

/** The list of sessions, as many as `limit`; a session not on it (a deep link to an older one)
 * is looked up in the whole list, so its title and project are known. */
async function sessionList(limit, need) {
  const list = await api(`/api/sessions?limit=${encodeURIComponent(limit)}`);
  if (need && limit !== 'all' && !list.some((s) => s.id === need)) {
    return { sessions: await api('/api/sessions?limit=all'), limit: 'all' };
  }
  return { sessions: list, limit };
}

export async function fetchRead(read) {
  switch (read.kind) {
    case 'full': {
      const [theme, health, page, activity, machines] = await Promise.all([
        api('/api/theme'),
        read.health ? api('/api/health') : null,
        read.all ? everything() : sessionList(read.limit, read.selected),
        api('/api/activity'),
        orNull(api('/api/machines')),
      ]);
      const tasks = page.allTasks ? undefined : await tasksOf(preloadIds(page.sessions, read.limit, read.selected));
      return { replace: true, ...page, tasks, activity, machines: machines ?? [], theme: theme.theme, health };
    }
    case 'all':
      return everything();
    case 'sessions':
      return sessionList(read.limit, null);
    case 'session': {
      const [tasks, list] = await Promise.all([
        tasksOf([read.sid]),
        read.known ? null : sessionList('all', null),
      ]);
      return { tasks, ...list };
    }
    case 'activity':
      return { activity: await api('/api/activity') };
    case 'agents':
      return { agents: { sid: read.sid, list: await orNull(api(`${sessionPath(read.sid)}/agents`)) } };
    case 'teams':
      return { teams: await api('/api/teams') };
    case 'messages':
      return { messages: { team: read.team, list: await orNull(api(`/api/teams/${encodeURIComponent(read.team)}/messages`)) } };
    case 'plan':
      return { plan: { slug: read.slug, plan: await orNull(api(`/api/plans/${encodeURIComponent(read.slug)}`)) } };
    case 'todos':
      return { todos: { sid: read.sid, list: await orNull(api(`${sessionPath(read.sid)}/todos`)) } };
    default:
      throw new Error(`unknown read ${read.kind}`);
  }
}

async function everything() {
  const [sessions, allTasks] = await Promise.all([api('/api/sessions?limit=all'), api('/api/tasks/all')]);
  return { sessions, limit: 'all', allTasks };
}
