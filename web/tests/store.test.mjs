// The board's state (web/public/store.js) without a browser, a server or a network: live events,
// read answers that race them, and the reads the state asks for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../public/store.js';
import {
  activityList, currentCards, dependentsOf, describeMessage, emptyReason, filteredSessions, isActive, isStale, isStaleTask,
  liveTasks, messageKeys, openBlockers, sessionView, stoppedTasks, visibleTasks, waitingSessions,
} from '../public/select.js';
import { formatHash, parseHash } from '../public/router.js';

const A = 'aaaaaaaa-1111-4111-8111-111111111111';
const B = 'bbbbbbbb-2222-4222-8222-222222222222';
const C = 'cccccccc-3333-4333-8333-333333333333';

function summary(id, extra = {}) {
  return {
    id, name: null, slug: null, project: null, description: null, gitBranch: null,
    taskCount: 0, completed: 0, inProgress: 0, pending: 0, createdAt: null,
    modifiedAt: '2026-11-24T13:00:00.000Z', ...extra,
  };
}

function task(id, status, extra = {}) {
  return {
    id: String(id), subject: `Task ${id}`, status, blocks: [], blockedBy: [],
    createdAt: '2026-11-24T12:00:00.000Z', updatedAt: '2026-11-24T12:30:00.000Z', ...extra,
  };
}

const reads = (effects) => effects.filter((e) => e.type === 'read').map((e) => e.read);
const status = (state, sid, id) => state.tasks.get(sid)?.get(String(id))?.status;
const keys = (state, sid) => [...state.tasks.get(sid).keys()].sort();

/** A board after its first full read: `tasks` maps a session id to its task list. */
function board(sessions, tasks = {}, { limit = '20', at = 10, ...ui } = {}) {
  let state = { ...S.initialState({ limit }), ...ui };
  const begun = S.beginRead(state, reads(S.wantedReads(state).map((read) => ({ type: 'read', read })))[0]);
  state = S.applySnapshot(begun.state, {
    replace: true, sessions, limit, tasks: new Map(Object.entries(tasks)), theme: 'system', health: {}, read: begun.token,
  }).state;
  return S.applyEvent(state, { type: 'connected' }, at).state;
}

/** Applies `events` ([event, id] pairs) in turn. */
function events(state, ...list) {
  for (const [event, id] of list) state = S.applyEvent(state, event, id).state;
  return state;
}

const change = (sid, t, session, kind = 'change') => ({ type: 'update', event: kind, sessionId: sid, file: `${t.id}.json`, task: t, session });
const unlink = (sid, file, session) => ({ type: 'update', event: 'unlink', sessionId: sid, file, session });

function begin(state, read) {
  const { state: next, token } = S.beginRead(state, read);
  return [next, token];
}

// ----- the first load ----------------------------------------------------------------------

test('a new board asks for one full read, with the deep-linked session, and is ready once it is in', () => {
  let state = S.initialState();
  ({ state } = S.route(state, { page: 'tasks', selected: B, task: '2' }));
  const wanted = S.wantedReads(state);
  assert.deepEqual(wanted, [{ kind: 'full', limit: '20', all: false, selected: B, health: true }]);
  const [begun, token] = begin(state, wanted[0]);
  assert.deepEqual(S.wantedReads(begun), [], 'asked once');
  assert.equal(begun.ready, false);
  const { state: ready, effects } = S.applySnapshot(begun, {
    replace: true, sessions: [summary(A), summary(B)], limit: '20', tasks: new Map([[B, [task(1, 'pending'), task(2, 'pending')]]]), read: token,
  });
  assert.equal(ready.ready, true);
  assert.deepEqual(reads(effects), [], 'nothing more to read');
  assert.deepEqual(keys(ready, B), ['1', '2']);
  assert.equal(ready.tasks.has(A), false, 'other sessions are read when needed, not at start');
  assert.deepEqual(ready.openTask, { sessionId: B, taskId: '2' });
});

test('sessions with work in progress on the first page are read for the Live list', () => {
  const state = board([summary(A, { inProgress: 1 }), summary(B)]);
  assert.deepEqual(S.wantedReads(state), [{ kind: 'session', sid: A, known: true }]);
});

// ----- stale reads -------------------------------------------------------------------------

test('an answer sent before a live event does not undo it: changed, unlinked and added stay so', () => {
  let state = board([summary(A, { taskCount: 3 })], { [A]: [task(1, 'pending'), task(2, 'pending'), task(3, 'pending')] });
  let token;
  [state, token] = begin(state, { kind: 'session', sid: A, known: true }); // sent at id 10
  state = events(state,
    [change(A, task(3, 'completed'), summary(A, { completed: 1, taskCount: 3 })), 11],
    [unlink(A, '2.json', summary(A, { completed: 1, taskCount: 2 })), 12],
    [change(A, task(4, 'pending', { subject: 'New' }), summary(A, { completed: 1, taskCount: 3 }), 'add'), 13]);
  // The answer was read on the server before those events: 3 in progress, 2 still there, no 4.
  const answer = [task(1, 'pending', { subject: 'Renamed' }), task(2, 'pending'), task(3, 'in_progress')];
  state = S.applySnapshot(state, { tasks: new Map([[A, answer]]), read: token }).state;
  assert.equal(status(state, A, 3), 'completed', 'the newer change stays');
  assert.equal(state.tasks.get(A).has('2'), false, 'the newer unlink stays');
  assert.equal(state.tasks.get(A).get('4')?.subject, 'New', 'the newer add stays');
  assert.equal(state.tasks.get(A).get('1').subject, 'Renamed', 'what no event touched comes from the answer');
  assert.deepEqual(state.log, [], 'no read outstanding: the log is emptied');
});

test('a session list sent before an event keeps the event\'s summary', () => {
  let state = board([summary(A), summary(B)], { [A]: [task(1, 'pending')] });
  let token;
  ({ state } = S.applyEvent(state, { type: 'metadata-update' }, 11));
  const read = S.wantedReads(state)[0];
  assert.deepEqual(read, { kind: 'sessions', limit: '20' });
  [state, token] = begin(state, read); // sent at 11
  state = events(state, [change(A, task(1, 'completed'), summary(A, { completed: 1, taskCount: 1, name: 'Old name' })), 12]);
  state = S.applySnapshot(state, { sessions: [summary(A, { name: 'Old name' }), summary(B, { name: 'Fresh' })], limit: '20', read: token }).state;
  assert.equal(state.sessions.get(A).completed, 1, 'the event\'s counts win');
  assert.equal(state.sessions.get(B).name, 'Fresh', 'the answer names what no event touched');
});

test('events older than the read are not laid over its answer', () => {
  let state = board([summary(A)], { [A]: [task(1, 'pending')] });
  state = events(state, [change(A, task(1, 'in_progress'), summary(A)), 11]);
  let token;
  [state, token] = begin(state, { kind: 'session', sid: A, known: true }); // sent at 11
  state = S.applySnapshot(state, { tasks: new Map([[A, [task(1, 'completed')]]]), read: token }).state;
  assert.equal(status(state, A, 1), 'completed');
});

test('the log covers the oldest read in flight and no more', () => {
  let state = board([summary(A)], { [A]: [task(1, 'pending')] });
  let first;
  let second;
  [state, first] = begin(state, { kind: 'write' }); // at 10
  state = events(state, [change(A, task(1, 'in_progress'), summary(A)), 11]);
  [state, second] = begin(state, { kind: 'write' }); // at 11
  state = events(state, [change(A, task(1, 'completed'), summary(A)), 12]);
  assert.deepEqual(state.log.map((e) => e.id), [11, 12]);
  state = S.applySnapshot(state, { read: first }).state;
  assert.deepEqual(state.log.map((e) => e.id), [12], 'only what the second read still needs');
  state = S.applySnapshot(state, { read: second }).state;
  assert.deepEqual(state.log, []);
});

test('a note\'s answer is laid down, but not over a newer event for the task', () => {
  let state = board([summary(A)], { [A]: [task(1, 'pending')] });
  let token;
  [state, token] = begin(state, { kind: 'write' });
  const noted = task(1, 'pending', { description: 'note' });
  let answered = S.applySnapshot(state, { task: { sessionId: A, key: '1', task: noted }, read: token }).state;
  assert.equal(answered.tasks.get(A).get('1').description, 'note');
  state = events(state, [change(A, task(1, 'completed', { description: 'note' }), summary(A)), 11]);
  answered = S.applySnapshot(state, { task: { sessionId: A, key: '1', task: noted }, read: token }).state;
  assert.equal(status(answered, A, 1), 'completed');
});

// ----- resync ------------------------------------------------------------------------------

test('resync voids reads in flight and a full read replaces everything', () => {
  let state = board([summary(A), summary(B), summary(C)], { [A]: [task(1, 'pending')], [B]: [task(1, 'pending')] }, { selected: A });
  let stale;
  [state, stale] = begin(state, { kind: 'session', sid: B, known: true });
  const { state: resynced, effects } = S.applyEvent(state, { type: 'resync' }, 10);
  state = resynced;
  const full = reads(effects);
  assert.deepEqual(full, [{ kind: 'full', limit: '20', all: false, selected: A, health: false }], 'one full read');
  assert.equal(state.reads.size, 0, 'the read in flight is void');
  let token;
  [state, token] = begin(state, full[0]);
  state = events(state, [change(A, task(2, 'pending'), summary(A), 'add'), 11]);
  state = S.applySnapshot(state, {
    replace: true, sessions: [summary(A), summary(B)], limit: '20', tasks: new Map([[A, [task(1, 'completed')]]]), read: token,
  }).state;
  assert.deepEqual([...state.sessions.keys()].sort(), [A, B], 'a session gone meanwhile is gone');
  assert.equal(status(state, A, 1), 'completed', 'the tasks are the answer\'s');
  assert.deepEqual(keys(state, A), ['1', '2'], 'with the events since the resync laid over');
  assert.equal(state.tasks.has(B), false, 'tasks read before the resync are dropped, to be read again');
  const late = S.applySnapshot(state, { tasks: new Map([[B, [task(9, 'pending')]]]), read: stale }).state;
  assert.equal(late.tasks.has(B), false, 'the void read\'s late answer is ignored');
});

// ----- reads the state asks for ------------------------------------------------------------

test('an event for a session whose tasks are not loaded reads that session only', () => {
  let state = board([summary(A), summary(B)], { [A]: [task(1, 'pending')] });
  const first = S.applyEvent(state, change(B, task(3, 'in_progress'), summary(B, { inProgress: 1, taskCount: 3 })), 11);
  assert.deepEqual(reads(first.effects), [{ kind: 'session', sid: B, known: true }]);
  state = first.state;
  assert.equal(state.sessions.get(B).inProgress, 1, 'its summary is applied at once');
  assert.equal(state.tasks.has(B), false, 'one task is not the session\'s list');
  let token;
  [state, token] = begin(state, reads(first.effects)[0]);
  const second = S.applyEvent(state, change(B, task(3, 'completed'), summary(B, { completed: 1, taskCount: 3 })), 12);
  assert.deepEqual(reads(second.effects), [], 'not asked twice while it is read');
  state = S.applySnapshot(second.state, { tasks: new Map([[B, [task(1, 'pending'), task(2, 'pending'), task(3, 'in_progress')]]]), read: token }).state;
  assert.equal(status(state, B, 3), 'completed');
  const third = S.applyEvent(state, change(B, task(2, 'completed'), summary(B)), 13);
  assert.deepEqual(reads(third.effects), [], 'once loaded, events apply in place');
  assert.equal(status(third.state, B, 2), 'completed');
});

test('a file unreadable right now has its session read again', () => {
  const state = board([summary(A)], { [A]: [task(1, 'pending')] });
  const { effects } = S.applyEvent(state, { type: 'update', event: 'change', sessionId: A, file: '1.json', session: summary(A) }, 11);
  assert.deepEqual(reads(effects), [{ kind: 'session', sid: A, known: true }]);
});

test('metadata changes re-read the session page, a burst costing two reads at most', () => {
  let state = board([summary(A)]);
  let r = S.applyEvent(state, { type: 'metadata-update' }, 11);
  assert.deepEqual(reads(r.effects), [{ kind: 'sessions', limit: '20' }]);
  let token;
  [state, token] = begin(r.state, reads(r.effects)[0]);
  for (let id = 12; id < 20; id++) {
    r = S.applyEvent(state, { type: 'metadata-update' }, id);
    assert.deepEqual(reads(r.effects), []);
    state = r.state;
  }
  r = S.applySnapshot(state, { sessions: [summary(A)], limit: '20', read: token });
  assert.deepEqual(reads(r.effects), [{ kind: 'sessions', limit: '20' }], 'one more for the burst');
});

test('a full page keeps the sessions beyond it; a wider limit asks for more; a short list is complete', () => {
  const older = summary(C, { modifiedAt: '2026-01-01T00:00:00.000Z' });
  let state = board([summary(A), summary(B)], {}, { limit: '2' });
  assert.equal(state.sessionsLimit, '2', 'a full page: there may be more');
  state = { ...state, sessions: new Map([...state.sessions, [C, older]]) };
  state = S.applySnapshot(state, { sessions: [summary(A), summary(B)], limit: '2' }).state;
  assert.equal(state.sessions.has(C), true, 'a full page says nothing about older sessions');
  const { effects } = S.setLimit(state, '50');
  assert.deepEqual(reads(effects), [{ kind: 'sessions', limit: '50' }]);
  const wider = S.applySnapshot(state, { sessions: [summary(A), summary(B)], limit: '50' }).state;
  assert.equal(wider.sessionsLimit, 'all', 'fewer than asked for: that is every session');
  assert.equal(wider.sessions.has(C), false, 'a complete list drops what it does not list');
  assert.deepEqual(reads(S.setLimit(wider, 'all').effects), [], 'nothing more to ask for');
});

test('All tasks and search read every task once', () => {
  let state = board([summary(A), summary(B)], { [A]: [task(1, 'pending')] });
  const all = S.selectSession(state, '*');
  assert.deepEqual(reads(all.effects), [{ kind: 'all' }]);
  assert.equal(emptyReason(all.state), 'loading');
  assert.deepEqual(reads(S.setSearch(state, 'parser').effects), [{ kind: 'all' }]);
  let token;
  [state, token] = begin(all.state, { kind: 'all' });
  const r = S.applySnapshot(state, {
    sessions: [summary(A), summary(B)], limit: 'all', read: token,
    allTasks: [{ ...task(1, 'pending'), sessionId: A, sessionName: null, project: null }, { ...task(7, 'pending'), sessionId: B, sessionName: 'x', project: '/p' }],
  });
  state = r.state;
  assert.equal(state.allLoaded, true);
  assert.deepEqual(reads(r.effects), []);
  assert.equal(state.tasks.get(B).get('7').sessionId, undefined, 'the session fields are the session\'s');
  assert.deepEqual(currentCards(state).map(([sid, t]) => `${sid.slice(0, 1)}/${t.id}`), ['a/1', 'b/7']);
  assert.deepEqual(reads(S.setSearch(state, 'parser').effects), []);
});

test('a session the server does not have is not found, and not asked for again', () => {
  let state = board([summary(A)], {}, { limit: '1' });
  const r = S.selectSession(state, B);
  assert.deepEqual(reads(r.effects), [{ kind: 'session', sid: B, known: false }], 'its summary is looked up too');
  let token;
  [state, token] = begin(r.state, reads(r.effects)[0]);
  assert.equal(emptyReason(state), 'loading');
  const answered = S.applySnapshot(state, { tasks: new Map([[B, null]]), sessions: [summary(A)], limit: 'all', read: token });
  assert.equal(answered.state.sessionsLimit, 'all');
  assert.equal(emptyReason(answered.state), 'not-found');
  assert.equal(answered.state.selected, B, 'the page stays where the user put it');
  assert.deepEqual(reads(answered.effects), []);
});

test('a failed read waits for the stream to reconnect before it is tried again', () => {
  let state = board([summary(A)], {}, { selected: A });
  let token;
  [state, token] = begin(state, S.wantedReads(state)[0]);
  const failed = S.failRead(state, token, 'offline');
  assert.equal(failed.state.error, 'offline');
  assert.deepEqual(reads(failed.effects), []);
  assert.deepEqual(reads(S.applyEvent(failed.state, { type: 'connected' }, 20).effects), [{ kind: 'session', sid: A, known: true }]);
});

// ----- events in place ---------------------------------------------------------------------

test('a new session folder is known empty, and its files fill it without a read', () => {
  let state = board([summary(A)]);
  const r = S.applyEvent(state, { type: 'update', event: 'addDir', sessionId: 's-new', file: null, session: summary('s-new') }, 11);
  assert.deepEqual(reads(r.effects), []);
  state = events(r.state, [change('s-new', task(1, 'pending'), summary('s-new', { taskCount: 1 }), 'add'), 12]);
  assert.deepEqual(keys(state, 's-new'), ['1']);
});

test('a removed session folder takes its tasks, the selection and the open task with it', () => {
  let state = board([summary(A), summary(B)], { [A]: [task(1, 'pending')] });
  ({ state } = S.openTask(state, A, '1'));
  state = events(state, [{ type: 'update', event: 'unlinkDir', sessionId: A, file: null }, 11]);
  assert.equal(state.sessions.has(A), false);
  assert.equal(state.tasks.has(A), false);
  assert.equal(state.selected, null);
  assert.equal(state.openTask, null);
});

test('task files without an id are keyed by their file name', () => {
  let state = board([summary(A)], { [A]: [] });
  const { id, ...noId } = task(0, 'pending', { subject: 'No id' });
  state = events(state,
    [{ type: 'update', event: 'add', sessionId: A, file: 'x1.json', task: noId, session: summary(A) }, 11],
    [{ type: 'update', event: 'add', sessionId: A, file: 'x2.json', task: noId, session: summary(A) }, 12]);
  assert.deepEqual(keys(state, A), ['x1', 'x2'], 'two files stay two cards');
  assert.equal(state.tasks.get(A).get('x1').id, 'x1', 'shown and addressed by that name');
  state = events(state, [unlink(A, 'x1.json', summary(A)), 13]);
  assert.deepEqual(keys(state, A), ['x2']);
});

test('a task that completes chimes only when notifications are on, and only once', () => {
  let state = board([summary(A)], { [A]: [task(1, 'in_progress')] });
  const done = change(A, task(1, 'completed'), summary(A));
  assert.deepEqual(S.applyEvent(state, done, 11).effects, []);
  state = S.setNotify(state, true).state;
  let token;
  [state, token] = begin(state, { kind: 'write' });
  const r = S.applyEvent(state, done, 11);
  assert.deepEqual(r.effects.map((e) => e.type), ['completed']);
  assert.deepEqual(S.applySnapshot(r.state, { tasks: new Map([[A, [task(1, 'in_progress')]]]), read: token }).effects, [], 'not again when laid over an answer');
});

test('theme events are applied, and kept over an older answer', () => {
  let state = board([summary(A)]);
  let token;
  [state, token] = begin(state, { kind: 'full', limit: '20', all: false, selected: null, health: false });
  state = events(state, [{ type: 'theme', theme: 'dark' }, 11]);
  state = S.applySnapshot(state, { replace: true, sessions: [summary(A)], limit: '20', theme: 'light', read: token }).state;
  assert.equal(state.theme, 'dark');
});

// ----- what the board shows ----------------------------------------------------------------

test('internal tasks are hidden from columns, counts and the Live list', () => {
  const state = board([summary(A, { inProgress: 1 })], {
    [A]: [task(1, 'in_progress'), task(2, 'in_progress', { metadata: { _internal: true } }), task(3, 'pending')],
  }, { selected: A });
  assert.deepEqual(visibleTasks(state, A).map((t) => t.id), ['1', '3']);
  assert.deepEqual(currentCards(state).map(([, t]) => t.id), ['3', '1'], 'pending, then in progress');
  assert.deepEqual(liveTasks(state).map(([, t]) => t.id), ['1']);
});

test('a task is blocked while a blocker is unfinished or unknown', () => {
  const state = board([summary(A)], {
    [A]: [task(1, 'completed'), task(2, 'pending'), task(3, 'pending', { blockedBy: ['1', '2', '9'] }), task(4, 'pending', { blockedBy: 'junk' })],
  });
  const t = (id) => state.tasks.get(A).get(id);
  assert.deepEqual(openBlockers(state, A, t('3')), ['2', '9']);
  assert.deepEqual(openBlockers(state, A, t('4')), [], 'a malformed list blocks nothing');
  assert.deepEqual(dependentsOf(state, A, '2').map((x) => x.id), ['3']);
});

test('cards sort by status then numeric id; the keyboard cursor stays on a card', () => {
  let state = board([summary(A)], { [A]: [task(10, 'pending'), task(9, 'pending'), task('x', 'pending'), task(2, 'completed')] }, { selected: A });
  assert.deepEqual(currentCards(state).map(([, t]) => t.id), ['9', '10', 'x', '2']);
  for (let i = 0; i < 6; i++) state = S.moveFocus(state, 1).state;
  assert.equal(state.focusIndex, 3);
  state = S.openFocused(state).state;
  assert.deepEqual(state.openTask, { sessionId: A, taskId: '2' });
  state = S.openTask(state, A, '10').state;
  assert.equal(state.focusIndex, 1, 'opening a card moves the cursor to it');
});

test('a session is stale after a week without work in progress', () => {
  const now = Date.parse('2026-11-24T13:00:00.000Z');
  assert.equal(isStale(summary(A, { modifiedAt: '2026-11-10T00:00:00.000Z' }), now), true);
  assert.equal(isStale(summary(A, { modifiedAt: '2026-11-10T00:00:00.000Z', inProgress: 1 }), now), false);
  assert.equal(isStale(summary(A, { modifiedAt: '2026-11-23T00:00:00.000Z' }), now), false);
});

// ----- agents: state, Needs you, Activity, stale work (contract §6) --------------------------

const D = 'dddddddd-4444-4444-8444-444444444444';

/** A summary with its agent's state, as the server now sends it. */
function agent(id, state, extra = {}) {
  const live = state !== 'ended';
  return summary(id, { state, live, waitingFor: null, lastActivityAt: null, cwd: null, team: null, planSlug: null, subagents: { running: 0, total: 0 }, ...extra });
}
const item = (id, state, extra = {}) => ({ ...agent(id, state, extra), hasTaskList: false, ...extra });
const sessionStateEvent = (sid, session, extra = {}) => ({
  type: 'session-state', sessionId: sid, state: session.state, live: session.live, waitingFor: session.waitingFor, session, ...extra,
});

test('a session-state event changes the session in the sidebar and in Activity, without a read', () => {
  let state = board([agent(A, 'busy', { inProgress: 1 }), agent(B, 'idle')], { [A]: [task(1, 'in_progress')] });
  state = S.applySnapshot(state, { activity: [{ ...agent(A, 'busy'), hasTaskList: true }, item(D, 'idle')] }).state;
  const waiting = { ...agent(A, 'waiting', { inProgress: 1, waitingFor: 'approve Bash' }), hasTaskList: true };
  const r = S.applyEvent(state, sessionStateEvent(A, waiting), 11);
  assert.deepEqual(reads(r.effects), []);
  assert.equal(r.state.sessions.get(A).state, 'waiting');
  assert.equal(r.state.sessions.get(A).waitingFor, 'approve Bash');
  assert.equal(r.state.activity.get(A).state, 'waiting');
  assert.equal(r.state.sessions.get(B), state.sessions.get(B), 'the others keep their identity');
  const bare = S.applyEvent(state, { type: 'session-state', sessionId: D, state: 'waiting', live: true, waitingFor: 'a question' }, 11).state;
  assert.equal(bare.activity.get(D).state, 'waiting', 'an event without the item changes the fields of a known session');
  assert.equal(bare.activity.get(D).waitingFor, 'a question');
  assert.equal(bare.sessions.has(D), false, 'a session without a task list stays off the task lists');
});

test('a session-state for a session never seen adds it to Activity from its item, without a read', () => {
  const state = board([agent(A, 'idle')]);
  const r = S.applyEvent(state, sessionStateEvent(D, item(D, 'busy', { name: 'Fresh' })), 11);
  assert.deepEqual(reads(r.effects), []);
  assert.equal(r.state.activity.get(D).name, 'Fresh');
  assert.equal(r.state.sessions.has(D), false);
  const withList = S.applyEvent(state, sessionStateEvent(C, { ...agent(C, 'busy'), hasTaskList: true }), 11).state;
  assert.equal(withList.sessions.get(C).state, 'busy', 'one with a task list joins the sidebar too');
  const bare = S.applyEvent(state, { type: 'session-state', sessionId: D, state: 'busy', live: true, waitingFor: null }, 11);
  assert.equal(bare.state.activity.has(D), false, 'nothing to show it with');
  assert.deepEqual(reads(bare.effects), [], 'not read while Activity is not on screen');
  assert.deepEqual(reads(S.showActivity(bare.state).effects), [{ kind: 'activity' }], 'read once it is');
});

test('a session-state is kept over an older answer, like any other event', () => {
  let state = board([agent(A, 'busy')]);
  let token;
  [state, token] = begin(state, { kind: 'activity' });
  state = events(state, [sessionStateEvent(A, { ...agent(A, 'waiting', { waitingFor: 'x' }), hasTaskList: true }), 11]);
  state = S.applySnapshot(state, { activity: [{ ...agent(A, 'busy'), hasTaskList: true }, item(D, 'ended')], read: token }).state;
  assert.equal(state.activity.get(A).state, 'waiting', 'the newer event wins');
  assert.equal(state.sessions.get(A).state, 'waiting');
  assert.equal(state.activity.get(D).state, 'ended', 'what no event touched comes from the answer');
  assert.equal(state.activityLoaded, true);
});

test('Needs you counts every waiting session, sorts them first and filters to them', () => {
  let state = board([
    agent(A, 'busy', { modifiedAt: '2026-11-24T13:00:00.000Z' }),
    agent(B, 'waiting', { modifiedAt: '2026-11-20T13:00:00.000Z' }),
    agent(C, 'ended', { modifiedAt: '2026-11-24T14:00:00.000Z' }),
  ]);
  state = S.applySnapshot(state, { activity: [item(D, 'waiting', { modifiedAt: '2026-11-01T00:00:00.000Z' }), { ...agent(B, 'waiting'), hasTaskList: true }] }).state;
  assert.deepEqual(waitingSessions(state).map((s) => s.id).sort(), [B, D], 'with a task list or not, each once');
  assert.deepEqual(filteredSessions(state).map((s) => s.id), [B, D, C, A], 'waiting first, then newest');
  state = S.setNeedsYou(state, true).state;
  assert.deepEqual(filteredSessions(state).map((s) => s.id), [B, D]);
  state = events(state, [sessionStateEvent(A, { ...agent(A, 'waiting'), hasTaskList: true }), 11]);
  assert.deepEqual(filteredSessions(state).map((s) => s.id), [A, B, D], 'a session turning waiting moves in');
  state = events(state, [change(B, task(1, 'pending'), agent(B, 'busy')), 12]);
  assert.deepEqual(filteredSessions(state).map((s) => s.id), [A, D], 'an update payload moves it out again');
  assert.equal(waitingSessions(state).length, 2);
});

test('a session that starts waiting chimes when notifications are on, once, and not on replay', () => {
  let state = board([agent(A, 'busy')]);
  const waiting = sessionStateEvent(A, { ...agent(A, 'waiting', { waitingFor: 'approve Bash' }), hasTaskList: true });
  assert.deepEqual(S.applyEvent(state, waiting, 11).effects, []);
  state = S.setNotify(state, true).state;
  let token;
  [state, token] = begin(state, { kind: 'activity' });
  const r = S.applyEvent(state, waiting, 11);
  assert.deepEqual(r.effects.map((e) => [e.type, e.session.id, e.session.waitingFor]), [['waiting', A, 'approve Bash']]);
  assert.deepEqual(S.applyEvent(r.state, waiting, 12).effects, [], 'still waiting: no second chime');
  assert.deepEqual(S.applySnapshot(r.state, { activity: [{ ...agent(A, 'busy'), hasTaskList: true }], read: token }).effects, [], 'not again when laid over an answer');
  const fresh = S.applyEvent(state, sessionStateEvent(D, item(D, 'waiting')), 11);
  assert.deepEqual(fresh.effects.map((e) => e.type), ['waiting'], 'a session first seen waiting chimes too');
});

test('in-progress work of an ended session is stale: not active, not current work, shown apart', () => {
  const now = Date.parse('2026-11-24T13:00:00.000Z');
  const state = board([agent(A, 'busy', { inProgress: 1 }), agent(B, 'ended', { inProgress: 1 }), agent(C, 'ended', { inProgress: 1 })], {
    [A]: [task(1, 'in_progress')],
    [B]: [task(2, 'in_progress', { updatedAt: '2026-11-24T10:00:00.000Z' }), task(3, 'pending')],
    [C]: [task(4, 'in_progress', { updatedAt: '2026-11-20T10:00:00.000Z' })],
  });
  assert.equal(isStaleTask(state.sessions.get(B), state.tasks.get(B).get('2')), true);
  assert.equal(isStaleTask(state.sessions.get(B), state.tasks.get(B).get('3')), false, 'only work in progress goes stale');
  assert.equal(isStaleTask(state.sessions.get(A), state.tasks.get(A).get('1')), false);
  assert.equal(isStaleTask(summary(A), task(1, 'in_progress')), false, 'a summary without a state is taken as not ended');
  assert.deepEqual(liveTasks(state).map(([s, t]) => `${s.id.slice(0, 1)}/${t.id}`), ['a/1']);
  assert.deepEqual(stoppedTasks(state, now).map(([s, t]) => `${s.id.slice(0, 1)}/${t.id}`), ['b/2'], 'left off in the last day');
  assert.equal(isActive(state.sessions.get(A)), true);
  assert.equal(isActive(state.sessions.get(B)), false);
  assert.deepEqual(filteredSessions(S.setActiveOnly(state, true).state).map((s) => s.id), [A], 'Active only means live work');
  const old = agent(A, 'idle', { modifiedAt: '2026-11-01T00:00:00.000Z' });
  assert.equal(isStale(old, now), false, 'a session whose process runs is never archived');
  assert.equal(isStale({ ...old, state: 'ended', live: false, inProgress: 1 }, now), true, 'stale work does not keep an ended one fresh');
});

test('Activity follows update events and task folders, and is read again only where it shows', () => {
  let state = board([agent(A, 'busy')], { [A]: [] });
  state = S.applySnapshot(state, { activity: [{ ...agent(A, 'busy'), hasTaskList: true }, item(D, 'ended')] }).state;
  state = events(state, [change(A, task(1, 'pending'), agent(A, 'busy', { taskCount: 1, pending: 1 }), 'add'), 11]);
  assert.equal(state.activity.get(A).taskCount, 1, 'an update payload reaches Activity');
  assert.equal(state.activity.get(A).hasTaskList, true);
  state = events(state, [{ type: 'update', event: 'addDir', sessionId: C, file: null, session: agent(C, 'busy') }, 12]);
  assert.equal(state.activity.get(C).hasTaskList, true, 'a new task folder is a session with a task list');
  state = events(state, [{ type: 'update', event: 'unlinkDir', sessionId: C, file: null }, 13]);
  assert.equal(state.activity.get(C).hasTaskList, false, 'a folder gone leaves the session without one');
  assert.deepEqual(activityList(state).map((s) => s.id.slice(0, 1)), ['a', 'c', 'd'], 'newest first; a tie by id');
  const meta = S.applyEvent(state, { type: 'metadata-update' }, 14);
  assert.deepEqual(reads(meta.effects), [{ kind: 'sessions', limit: '20' }], 'not on the board page');
  const shown = S.showActivity(meta.state, D);
  assert.deepEqual(reads(shown.effects), [{ kind: 'activity' }, { kind: 'agents', sid: D }, { kind: 'todos', sid: D }, { kind: 'sessions', limit: '20' }],
    'on its own page, with the detailed session\'s subagents and todos (the session page is still due)');
});

test('the empty board tells task-less sessions from no sessions at all', () => {
  let state = board([]);
  assert.equal(emptyReason(state), 'no-sessions');
  state = events(state, [sessionStateEvent(D, item(D, 'busy')), 11]);
  assert.equal(emptyReason(state), 'no-task-lists');
  const meta = S.applyEvent(state, { type: 'metadata-update' }, 12);
  assert.deepEqual(reads(meta.effects), [{ kind: 'activity' }, { kind: 'sessions', limit: '20' }], 'its message depends on Activity, so it is kept current');
});

test('subagents are read when shown, and again when their counts move', () => {
  let state = board([agent(A, 'busy', { subagents: { running: 1, total: 2 } })], { [A]: [] }, { selected: A });
  const toggled = S.toggleAgents(state, A);
  assert.deepEqual(reads(toggled.effects), [{ kind: 'agents', sid: A }]);
  let token;
  [state, token] = begin(toggled.state, { kind: 'agents', sid: A });
  state = S.applySnapshot(state, { agents: { sid: A, list: [{ agentId: 'x', running: true }, { agentId: 'y', running: false }] }, read: token }).state;
  assert.equal(state.agents.get(A).length, 2);
  const same = S.applyEvent(state, sessionStateEvent(A, { ...agent(A, 'idle', { subagents: { running: 1, total: 2 } }), hasTaskList: true }), 11);
  assert.deepEqual(reads(same.effects), [], 'the same counts: the list stands');
  const moved = S.applyEvent(same.state, change(A, task(1, 'pending'), agent(A, 'busy', { subagents: { running: 0, total: 2 } }), 'add'), 12);
  assert.deepEqual(reads(moved.effects), [{ kind: 'agents', sid: A }], 'a subagent finished: read the list again');
  const hidden = S.toggleAgents(moved.state, A);
  assert.deepEqual(reads(hidden.effects), [], 'not while hidden');
});

test('the Activity page has an address', () => {
  assert.deepEqual(parseHash('#/activity'), { page: 'activity', selected: null });
  assert.deepEqual(parseHash(`#/activity/${D}`), { page: 'activity', selected: D });
  let state = board([agent(A, 'busy')]);
  state = S.route(state, parseHash(`#/activity/${D}`)).state;
  assert.equal(state.page, 'activity');
  assert.equal(formatHash(state), `#/activity/${D}`);
  assert.equal(formatHash(S.showActivity(state).state), '#/activity');
});

// ----- teams, plans and todos (contract §6) ------------------------------------------------

const TEAM = 'blue-team';
const member = (name, state, extra = {}) => ({ name, agentId: `${name}@${TEAM}`, agentType: 'general-purpose', model: 'haiku', color: null, lead: false, state, currentTask: null, ...extra });
const team = (name, members, extra = {}) => ({
  name, description: 'Build the parser', createdAt: '2026-11-24T12:00:00.000Z', leadSessionId: A, project: '/src/app',
  taskListId: name, members, completed: 0, inProgress: 0, pending: 0, ...extra,
});
const msg = (from, to, text, kind = 'message', extra = {}) => ({ from, to, text, summary: null, timestamp: '2026-11-24T12:00:00.000Z', read: true, kind, ...extra });

/** Begins the one read of `kind` the effects ask for and answers it with `snapshot`. */
function answer(state, effects, kind, snapshot) {
  const read = reads(effects).find((r) => r.kind === kind);
  assert.ok(read, `a ${kind} read is asked for`);
  const [begun, token] = begin(state, read);
  return S.applySnapshot(begun, { ...snapshot, read: token });
}

test('the Teams page reads the teams, then the inbox of the team it opens, and nothing for an unknown team', () => {
  let state = board([agent(A, 'busy')]);
  assert.deepEqual(reads(S.wantedReads(state).map((read) => ({ type: 'read', read }))), [], 'teams are not read where they do not show');
  const shown = S.route(state, parseHash(`#/teams/${TEAM}`));
  assert.equal(shown.state.page, 'teams');
  assert.equal(shown.state.teamSelected, TEAM);
  assert.deepEqual(reads(shown.effects), [{ kind: 'teams' }], 'the inbox waits for the team list');
  const listed = answer(shown.state, shown.effects, 'teams', { teams: [team(TEAM, [member('lexer', 'working')])] });
  assert.deepEqual(reads(listed.effects), [{ kind: 'messages', team: TEAM }]);
  const read = answer(listed.state, listed.effects, 'messages', { messages: { team: TEAM, list: [msg('team-lead', 'lexer', 'Go')] } });
  assert.deepEqual(reads(read.effects), [], 'all in');
  state = read.state;
  assert.equal(state.messages.get(TEAM).length, 1);
  assert.equal(formatHash(state), `#/teams/${TEAM}`);
  assert.equal(formatHash(S.showTeams(state).state), '#/teams');

  const unknown = S.showTeams(state, 'nope');
  assert.deepEqual(reads(unknown.effects), [], 'a team the list does not have: no inbox read (no 404)');
  assert.deepEqual(reads(S.showTeams(state).effects), [], 'All teams: the list is current, no inbox');
});

test('team-update marks the teams and that team\'s inbox stale; a burst while a read is out costs one more read', () => {
  let state = board([agent(A, 'busy')], { [A]: [] });
  let step = S.showTeams(state, TEAM);
  step = answer(step.state, step.effects, 'teams', { teams: [team(TEAM, [member('lexer', 'working')])] });
  step = answer(step.state, step.effects, 'messages', { messages: { team: TEAM, list: [] } });
  state = step.state;

  const changed = S.applyEvent(state, { type: 'team-update', team: TEAM }, 20);
  assert.deepEqual(reads(changed.effects), [{ kind: 'teams' }, { kind: 'messages', team: TEAM }]);
  // Both reads go out; twenty more events land while they are out.
  let [out, teamsToken] = begin(changed.state, { kind: 'teams' });
  let messagesToken;
  [out, messagesToken] = begin(out, { kind: 'messages', team: TEAM });
  for (let id = 21; id <= 40; id += 1) {
    const during = S.applyEvent(out, { type: 'team-update', team: TEAM }, id);
    assert.deepEqual(reads(during.effects), [], 'nothing more while the reads are out');
    out = during.state;
  }
  // The answers were taken before some of those events: each is read once more, and only once.
  let next = S.applySnapshot(out, { teams: [team(TEAM, [member('lexer', 'stopped')])], read: teamsToken });
  assert.deepEqual(reads(next.effects), [{ kind: 'teams' }]);
  [out, teamsToken] = begin(next.state, { kind: 'teams' });
  next = S.applySnapshot(out, { messages: { team: TEAM, list: [msg('lexer', 'team-lead', 'Done')] }, read: messagesToken });
  assert.deepEqual(reads(next.effects), [{ kind: 'messages', team: TEAM }]);
  [out, messagesToken] = begin(next.state, { kind: 'messages', team: TEAM });
  next = S.applySnapshot(out, { teams: [team(TEAM, [member('lexer', 'stopped')])], read: teamsToken });
  next = S.applySnapshot(next.state, { messages: { team: TEAM, list: [msg('lexer', 'team-lead', 'Done')] }, read: messagesToken });
  assert.deepEqual(reads(next.effects), [], 'settled');
  assert.equal(next.state.teams.get(TEAM).members[0].state, 'stopped');
  assert.equal(next.state.messages.get(TEAM)[0].text, 'Done');

  // Another team's update reads the list again, not this team's inbox.
  const other = S.applyEvent(next.state, { type: 'team-update', team: 'red-team' }, 41);
  assert.deepEqual(reads(other.effects), [{ kind: 'teams' }]);
  // Off the Teams page, a team-update reads nothing; the page reads again when shown.
  const away = S.selectSession(next.state, A).state;
  const quiet = S.applyEvent(away, { type: 'team-update', team: TEAM }, 42);
  assert.deepEqual(reads(quiet.effects), []);
  assert.deepEqual(reads(S.showTeams(quiet.state, TEAM).effects), [{ kind: 'teams' }, { kind: 'messages', team: TEAM }]);
});

test('a team\'s task list shows its members beside the columns: the teams are read for it, and again on team-update', () => {
  const list = agent(TEAM, 'ended', { team: TEAM, name: 'Build the parser' });
  let state = board([agent(A, 'busy'), list], { [A]: [task(1, 'pending')] });
  const plain = S.selectSession(state, A);
  assert.deepEqual(reads(plain.effects), [], 'a session of no team');
  const opened = S.selectSession(state, TEAM);
  assert.deepEqual(reads(opened.effects), [{ kind: 'teams' }, { kind: 'session', sid: TEAM, known: true }]);
  state = answer(opened.state, opened.effects, 'teams', { teams: [team(TEAM, [member('lexer', 'working')])] }).state;
  const changed = S.applyEvent(state, { type: 'team-update', team: TEAM }, 20);
  assert.deepEqual(reads(changed.effects).filter((r) => r.kind !== 'session'), [{ kind: 'teams' }], 'no inbox: it does not show here');
});

test('the Plan tab reads the session\'s plan, again on plan-update; without a plan the board shows', () => {
  const planned = agent(A, 'busy', { slug: 'brave-otter', planSlug: 'brave-otter' });
  let state = board([planned, agent(B, 'busy')], { [A]: [task(1, 'pending')], [B]: [] });
  state = S.selectSession(state, A).state;
  assert.equal(sessionView(state), 'board');
  const tab = S.setView(state, 'plan');
  assert.equal(sessionView(tab.state), 'plan');
  assert.deepEqual(reads(tab.effects), [{ kind: 'plan', slug: 'brave-otter' }]);
  assert.equal(formatHash(tab.state), `#/session/${A}/plan`);
  const plan = { slug: 'brave-otter', title: 'The plan', markdown: '# The plan\n\n<script>x</script>', modifiedAt: '2026-11-24T12:00:00.000Z', sessionIds: [A] };
  state = answer(tab.state, tab.effects, 'plan', { plan: { slug: 'brave-otter', plan } }).state;
  assert.equal(state.plans.get('brave-otter').markdown, plan.markdown, 'kept as text: the view renders it safely');

  const edited = S.applyEvent(state, { type: 'plan-update', slug: 'brave-otter' }, 20);
  assert.deepEqual(reads(edited.effects), [{ kind: 'plan', slug: 'brave-otter' }]);
  assert.deepEqual(reads(S.applyEvent(state, { type: 'plan-update', slug: 'other-plan' }, 20).effects), [], 'another plan: nothing to read');
  // A plan-update while its read is out: the answer may be older, so it is read once more.
  const [out, token] = begin(S.applyEvent(state, { type: 'plan-update', slug: 'brave-otter' }, 21).state, { kind: 'plan', slug: 'brave-otter' });
  const during = S.applyEvent(out, { type: 'plan-update', slug: 'brave-otter' }, 22).state;
  assert.deepEqual(reads(S.applySnapshot(during, { plan: { slug: 'brave-otter', plan }, read: token }).effects), [{ kind: 'plan', slug: 'brave-otter' }]);

  // Another session, without a plan: the Plan tab falls back to its board, and its address has none.
  const other = S.selectSession(state, B).state;
  assert.equal(other.view, 'plan');
  assert.equal(sessionView(other), 'board');
  assert.equal(formatHash(other), `#/session/${B}`);
  // Addresses: /plan opens the tab; the plain address of a session opens its board.
  assert.deepEqual(parseHash(`#/session/${A}/plan`), { page: 'tasks', selected: A, task: null, view: 'plan' });
  const routed = S.route(S.setView(state, 'board').state, parseHash(`#/session/${A}/plan`)).state;
  assert.equal(sessionView(routed), 'plan');
  assert.equal(sessionView(S.route(routed, parseHash(`#/session/${A}`)).state), 'board');
});

test('todos are read for the Activity detail of a session without a task list, and again on todos-update', () => {
  let state = board([agent(A, 'busy')], { [A]: [] });
  state = S.applySnapshot(state, { activity: [{ ...agent(A, 'busy'), hasTaskList: true }, item(D, 'busy')] }).state;
  const listed = S.showActivity(state, A);
  assert.equal(reads(listed.effects).some((r) => r.kind === 'todos'), false, 'a session with a task list shows that instead');
  const shown = S.showActivity(state, D);
  assert.deepEqual(reads(shown.effects).filter((r) => r.kind === 'todos'), [{ kind: 'todos', sid: D }]);
  const items = [{ content: 'Write the parser', status: 'in_progress', activeForm: 'Writing the parser', agentId: null }];
  state = answer(shown.state, shown.effects, 'todos', { todos: { sid: D, list: items } }).state;
  assert.equal(state.todos.get(D)[0].content, 'Write the parser');
  const changed = S.applyEvent(state, { type: 'todos-update', sessionId: D }, 20);
  assert.deepEqual(reads(changed.effects).filter((r) => r.kind === 'todos'), [{ kind: 'todos', sid: D }]);
  assert.deepEqual(reads(S.applyEvent(state, { type: 'todos-update', sessionId: C }, 20).effects).filter((r) => r.kind === 'todos'), [],
    'another session\'s todos are not on screen');
});

test('resync marks teams, inboxes, plans and todos stale: what shows is read again after the reload', () => {
  let step = S.showTeams(board([agent(A, 'busy')]), TEAM);
  step = answer(step.state, step.effects, 'teams', { teams: [team(TEAM, [])] });
  step = answer(step.state, step.effects, 'messages', { messages: { team: TEAM, list: [] } });
  const lost = S.applyEvent(step.state, { type: 'resync' }, 30);
  assert.deepEqual(reads(lost.effects).map((r) => r.kind), ['full']);
  const [begun, token] = begin(lost.state, reads(lost.effects)[0]);
  const reloaded = S.applySnapshot(begun, { replace: true, sessions: [agent(A, 'busy')], limit: '20', tasks: new Map(), read: token });
  assert.deepEqual(reads(reloaded.effects), [{ kind: 'teams' }, { kind: 'messages', team: TEAM }]);
  assert.equal(reloaded.state.teams.size, 1, 'what was shown stays on screen meanwhile');
});

test('protocol messages are told in one line; messages between agents are Markdown', () => {
  const json = (o) => JSON.stringify(o);
  assert.deepEqual(describeMessage(msg('lead', 'lexer', 'Hi **there**')), { compact: false });
  const told = (m) => describeMessage(m).text;
  assert.equal(told(msg('tester', 'team-lead', json({ type: 'idle_notification', from: 'tester', idleReason: 'available' }), 'idle_notification')),
    'tester is idle (available)');
  assert.equal(told(msg('team-lead', 'lexer', json({ type: 'shutdown_request', reason: 'Work complete' }), 'shutdown_request')),
    'team-lead asks lexer to shut down: Work complete');
  assert.equal(told(msg('lexer', 'team-lead', json({ type: 'shutdown_approved' }), 'shutdown_approved')), 'lexer agreed to shut down');
  assert.equal(told(msg('lexer', 'team-lead', json({ type: 'shutdown_response', approve: false, reason: 'Busy' }), 'shutdown_response')),
    'lexer declined to shut down: Busy');
  assert.equal(told(msg('lexer', 'lexer', json({ type: 'task_assignment', taskId: '1', subject: 'Write it', assignedBy: 'team-lead' }), 'task_assignment')),
    'team-lead assigned #1 Write it to lexer');
  assert.equal(told(msg('a', 'b', 'not json at all', 'plan_approval_request')), 'a → b: plan approval request', 'unknown kinds still in one line');
  for (const m of [msg('a', 'b', '{"type":"idle_notification"', 'idle_notification'), msg(null, null, null, 'shutdown_request')]) {
    assert.ok(!describeMessage(m).text.includes('{'), 'never the raw JSON');
  }
  // Keys stay put as the inbox grows, and repeats of one moment stay apart.
  const list = [msg('a', 'b', 'x'), msg('a', 'b', 'x'), msg('b', 'a', 'y')];
  const keysNow = messageKeys(list);
  assert.equal(new Set(keysNow).size, 3);
  assert.deepEqual(messageKeys([...list, msg('a', 'b', 'z', 'message', { timestamp: '2026-11-24T12:05:00.000Z' })]).slice(0, 3), keysNow);
  assert.deepEqual(parseHash('#/teams'), { page: 'teams', selected: null });
  assert.deepEqual(parseHash(`#/teams/${TEAM}`), { page: 'teams', selected: TEAM });
});

test('progress counts work only: internal bookkeeping is in no total', async () => {
  const { workTotal } = await import('../public/select.js');
  // taskCount counts every file (contract §3); the three counters leave trackers out (§6).
  assert.equal(workTotal({ taskCount: 8, completed: 4, inProgress: 0, pending: 0 }), 4);
  assert.equal(workTotal({ taskCount: 5, completed: 2, inProgress: 1, pending: 1 }), 4);
  assert.equal(workTotal({}), 0);
});

// ----- the team board (contract §7) --------------------------------------------------------

const REMOTE = 'beta.cccccccc-3333-4333-8333-333333333333';
const MACHINES = [
  { name: 'alpha', online: true, lastSeenAt: '2026-11-24T13:00:00.000Z', sessions: 1, self: true },
  { name: 'beta', online: true, lastSeenAt: '2026-11-24T13:00:00.000Z', sessions: 1 },
];

/** A team board: alpha (this machine) with A, beta with REMOTE; /api/machines as `machines`. */
function teamBoard(machines = MACHINES) {
  const state = board([summary(A, { machine: 'alpha' }), summary(REMOTE, { machine: 'beta', stale: false })]);
  return S.applySnapshot(state, { machines }).state;
}

test('off a team board no machine is named and the machine filter is not offered', async () => {
  const { machineList } = await import('../public/select.js');
  let state = board([summary(A), summary(B)]);
  state = S.applySnapshot(state, { machines: [{ name: 'laptop', online: true, self: true, sessions: 2 }] }).state;
  assert.deepEqual(machineList(state).map((m) => m.name), ['laptop'], 'one machine: no filter');
  ({ state } = S.setMachine(state, 'laptop'));
  assert.deepEqual(filteredSessions(state).map((s) => s.id).sort(), [A, B], 'items without `machine` are this machine\'s');
});

test('the machine filter narrows the sessions to one machine\'s', async () => {
  const { machineList, machineOf } = await import('../public/select.js');
  let state = teamBoard();
  assert.deepEqual(machineList(state), [{ name: 'alpha', online: true, self: true }, { name: 'beta', online: true, self: false }]);
  assert.equal(filteredSessions(state).length, 2);
  ({ state } = S.setMachine(state, 'beta'));
  assert.deepEqual(filteredSessions(state).map((s) => s.id), [REMOTE]);
  ({ state } = S.setMachine(state, 'alpha'));
  assert.deepEqual(filteredSessions(state).map((s) => s.id), [A]);
  assert.equal(machineOf(state, { id: 'x' }), 'alpha', 'an item without `machine` (Activity) is this machine\'s');
  ({ state } = S.setMachine(state, ''));
  assert.equal(filteredSessions(state).length, 2);
  // A machine a session names before /api/machines lists it is offered too.
  state = events(state, [{ type: 'update', event: 'addDir', sessionId: 'gamma.s', file: null, session: summary('gamma.s', { machine: 'gamma', stale: false }) }, 11]);
  assert.deepEqual(machineList(state).map((m) => m.name), ['alpha', 'beta', 'gamma']);
});

test('a machine going offline marks its sessions stale at once and says so; coming back clears it', () => {
  let state = teamBoard();
  const keep = state.sessions.get(A);
  let effects;
  ({ state, effects } = S.applyEvent(state, { type: 'machine', name: 'beta', online: false }, 11));
  assert.equal(state.sessions.get(REMOTE).stale, true);
  assert.equal(state.sessions.get(A), keep, 'another machine\'s sessions keep their identity');
  assert.equal(state.sessions.size, 2, 'no session is added or dropped');
  assert.equal(state.machines.get('beta').online, false);
  assert.equal(state.notice.text, 'beta went offline');
  assert.deepEqual(effects.filter((e) => e.type === 'notice'), [{ type: 'notice', seq: state.notice.seq }]);
  assert.deepEqual(reads(effects), [], 'no read: the state is patched');
  // The same news again is no news.
  const seq = state.notice.seq;
  ({ state, effects } = S.applyEvent(state, { type: 'machine', name: 'beta', online: false }, 12));
  assert.equal(state.notice.seq, seq);
  assert.deepEqual(effects, []);
  ({ state } = S.dismissNotice(state, seq));
  assert.equal(state.notice, null);
  ({ state } = S.applyEvent(state, { type: 'machine', name: 'beta', online: true }, 13));
  assert.equal(state.sessions.get(REMOTE).stale, false);
  assert.equal(state.notice.text, 'beta is back online');
  ({ state } = S.applyEvent(state, { type: 'machine', name: 'gamma', online: true }, 14));
  assert.equal(state.notice.text, 'gamma joined the board');
  assert.equal(state.machines.get('gamma').online, true);
  // An older notice's timer does not dismiss a newer one.
  ({ state } = S.dismissNotice(state, seq));
  assert.equal(state.notice.text, 'gamma joined the board');
});

test('an offline machine\'s waiting session does not ask for the user', () => {
  let state = teamBoard();
  state = events(state, [change(REMOTE, task(1, 'pending'), summary(REMOTE, { machine: 'beta', stale: false, state: 'waiting', live: true })), 11]);
  assert.equal(waitingSessions(state).length, 1);
  state = events(state, [{ type: 'machine', name: 'beta', online: false }, 12]);
  assert.equal(waitingSessions(state).length, 0, 'its last data is not a question anyone can answer');
});

test('a session list sent before a machine went offline does not undo the stale mark', () => {
  let state = teamBoard();
  ({ state } = S.applyEvent(state, { type: 'metadata-update' }, 11));
  let token;
  [state, token] = begin(state, S.wantedReads(state)[0]); // sent at 11
  state = events(state, [{ type: 'machine', name: 'beta', online: false }, 12]);
  state = S.applySnapshot(state, { sessions: [summary(A, { machine: 'alpha' }), summary(REMOTE, { machine: 'beta', stale: false })], limit: '20', read: token }).state;
  assert.equal(state.sessions.get(REMOTE).stale, true, 'the newer event wins over the older answer');
  assert.equal(state.machines.get('beta').online, false);
});

test('a full read lays down the machines; malformed machine events change nothing', () => {
  let state = S.initialState();
  const [begun, token] = begin(state, S.wantedReads(state)[0]);
  state = S.applySnapshot(begun, { replace: true, sessions: [], limit: '20', machines: MACHINES, read: token }).state;
  assert.deepEqual([...state.machines.keys()], ['alpha', 'beta']);
  for (const event of [{ type: 'machine' }, { type: 'machine', name: 'beta' }, { type: 'machine', name: 7, online: false }]) {
    const next = S.applyEvent(state, event, 20).state;
    assert.equal(next.machines, state.machines);
    assert.equal(next.notice, null);
  }
  // This machine is never announced (it cannot hear itself go).
  assert.equal(S.applyEvent(state, { type: 'machine', name: 'alpha', online: false }, 21).state.notice, null);
});
