// Flow's board, put together. The state and every change to it live in store.js; this module
// holds the one current state, hands it each transition (live events, read answers, what the
// user does), runs the effects the store returns (reads, the chime), and draws. What the user
// does is drawn at once; events and answers are drawn once per animation frame, however many
// arrive in it. A notice (a machine of the team board came or went) is dismissed after a while. The views keep every element whose data did not change (views/keyed.js).

import { api } from '/common.js';
import { createFeatures } from '/features.js';
import { connect } from '/live.js';
import { bindKeys } from '/keys.js';
import { announceWaiting, celebrate, notifyWanted, rememberNotify } from '/notify.js';
import { fetchRead } from '/reads.js';
import { onRoute, parseHash, syncHash } from '/router.js';
import * as S from '/store.js';
import { createActivity } from '/views/activity.js';
import { createPlan } from '/views/plan.js';
import { createTeamPanel, createTeams } from '/views/teams.js';
import { createBoard } from '/views/board.js';
import { askDelete, createDetail } from '/views/detail.js';
import { createSidebar } from '/views/sidebar.js';
import { createToolbar } from '/views/toolbar.js';

const $ = (id) => document.getElementById(id);
/** How long a notice stays on screen. */
const NOTICE_MS = 8000;

let state = S.initialState({ notify: notifyWanted(), limit: $('limit').value });
let frame = 0;
let live = null;

// ----- state ---------------------------------------------------------------------------------

function commit({ state: next, effects }, { now = false } = {}) {
  state = next;
  for (const effect of effects) run(effect);
  if (now) draw();
  else if (!frame) frame = requestAnimationFrame(draw);
  if (state.ready && live) {
    const stream = live;
    live = null;
    stream.release();
  }
}

/** What the user does: drawn before the handler returns. */
const act = (transition, ...args) => commit(transition(state, ...args), { now: true });
/** Live events and read answers: drawn on the next frame. */
const apply = (transition, ...args) => commit(transition(state, ...args));

function run(effect) {
  if (effect.type === 'read') read(effect.read).catch(() => {});
  else if (effect.type === 'completed') celebrate(effect.task, effect.session);
  else if (effect.type === 'waiting') announceWaiting(effect.session);
  else if (effect.type === 'notice') setTimeout(() => act(S.dismissNotice, effect.seq), NOTICE_MS);
}

/** Begins a read (store.js explains why it needs a token) and applies its answer or failure. */
async function read(what, fetch = () => fetchRead(what)) {
  const begun = S.beginRead(state, what);
  state = begun.state;
  try {
    const snapshot = await fetch();
    apply(S.applySnapshot, { ...snapshot, read: begun.token });
  } catch (err) {
    apply(S.failRead, begun.token, err.message);
    throw err;
  }
}

// ----- views ---------------------------------------------------------------------------------

const features = createFeatures($('features'), { onModeChange: (mode) => act(S.setFeaturesMode, mode) });
const select = (sid) => act(S.selectSession, sid);
const open = (sid, taskId) => act(S.openTask, sid, taskId);
const showActivity = (sid = null) => act(S.showActivity, sid);
const showTeams = (team = null) => act(S.showTeams, team);
const views = [
  createSidebar({ select, showActivity, open, setLimit: (limit) => act(S.setLimit, limit) }),
  createToolbar({ toggleAgents: (sid) => act(S.toggleAgents, sid) }),
  createBoard({ open, features, showActivity: () => showActivity() }),
  createActivity({ select, showActivity }),
  createTeams({ showTeams, select }),
  createTeamPanel({ showTeams }),
  createPlan(),
  createDetail({ open }),
];

function draw() {
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  if (!state.ready) return;
  const now = Date.now();
  for (const view of views) view.render(state, now);
  syncHash(state);
  document.body.dataset.ready = 'true';
}

// ----- what the user does that talks to the server -----------------------------------------

const taskPath = (open) => `/api/tasks/${encodeURIComponent(open.sessionId)}/${encodeURIComponent(open.taskId)}`;

async function submitNote(e) {
  e.preventDefault();
  const open = state.openTask;
  const input = $('note-input');
  if (!open) return;
  try {
    await read({ kind: 'write' }, async () => {
      const res = await api(`${taskPath(open)}/note`, { method: 'POST', body: JSON.stringify({ note: input.value }) });
      return { task: { sessionId: open.sessionId, key: open.taskId, task: res.task } };
    });
    input.value = '';
    act(S.setDetailError, null);
  } catch (err) {
    act(S.setDetailError, err.message);
  }
}

async function confirmDelete() {
  if ($('confirm-delete').returnValue !== 'delete') return;
  const open = state.openTask;
  if (!open) return;
  try {
    await read({ kind: 'write' }, async () => {
      await api(taskPath(open), { method: 'DELETE' });
      return { removed: { sessionId: open.sessionId, key: open.taskId } };
    });
    act(S.closeTask);
  } catch (err) {
    const blocked = err.body?.blockedTasks;
    act(S.setDetailError, blocked ? `${err.message}: ${blocked.map((id) => `#${id}`).join(', ')}` : err.message);
  }
}

async function setTheme(theme) {
  act(S.setTheme, theme);
  try {
    await api('/api/theme', { method: 'POST', body: JSON.stringify({ theme }) });
  } catch (err) {
    act(S.setError, err.message);
  }
}

async function toggleNotify() {
  act(S.setNotify, !state.notify);
  await rememberNotify(state.notify);
}

function moveFocus(delta) {
  act(S.moveFocus, delta);
  document.querySelector('.card.focused')?.scrollIntoView({ block: 'nearest' });
}

// ----- start ---------------------------------------------------------------------------------

function bind() {
  $('search').addEventListener('input', (e) => act(S.setSearch, e.target.value));
  $('project-filter').addEventListener('change', (e) => act(S.setProject, e.target.value));
  $('machine-filter').addEventListener('change', (e) => act(S.setMachine, e.target.value));
  $('active-only').addEventListener('change', (e) => act(S.setActiveOnly, e.target.checked));
  $('needs-you').addEventListener('change', (e) => act(S.setNeedsYou, e.target.checked));
  $('limit').addEventListener('change', (e) => act(S.setLimit, e.target.value));
  $('all-tasks').addEventListener('click', () => select('*'));
  $('features-nav').addEventListener('click', () => act(S.showFeatures));
  $('activity-nav').addEventListener('click', () => showActivity());
  $('teams-nav').addEventListener('click', () => showTeams());
  $('teams-back').addEventListener('click', () => showTeams());
  $('theme').addEventListener('change', (e) => setTheme(e.target.value));
  $('notify').addEventListener('click', toggleNotify);
  $('help-button').addEventListener('click', () => $('help').showModal());
  $('detail-close').addEventListener('click', () => act(S.closeTask));
  $('note-form').addEventListener('submit', submitNote);
  $('delete-button').addEventListener('click', () => askDelete(state));
  $('confirm-delete').addEventListener('close', confirmDelete);
  for (const b of document.querySelectorAll('[data-view]')) b.addEventListener('click', () => act(S.setView, b.dataset.view));
  bindKeys({
    getState: () => state,
    search: $('search'),
    help: $('help'),
    moveFocus,
    openFocused: () => act(S.openFocused),
    closeTask: () => act(S.closeTask),
    askDelete: () => askDelete(state),
  });
  onRoute((where) => act(S.route, where));
  // Relative times age even when nothing changes.
  setInterval(() => { if (!frame) frame = requestAnimationFrame(draw); }, 60_000);
}

function onEvent(event, id) {
  if (event.type === 'feature-update' || event.type === 'resync') features.handleEvent(event);
  apply(S.applyEvent, event, id);
}

bind();
// Connect first, then read: an event that lands while the first answer is on its way waits in
// the stream and is applied after it.
live = connect($('conn'), onEvent);
live.opened(2000).then(() => act(S.route, parseHash(location.hash)));
