// The Activity page: every Claude Code session of the last 48 hours (/api/activity), with or
// without a task list, waiting ones first: its agent state, project, branch, last activity and
// subagents. A session with a task list opens on the board; one without is detailed here
// (with its TodoWrite items and its subagents), since the board has nothing to show for it.

import { el } from '/common.js';
import { reconcile, setAttr } from '/views/keyed.js';
import { relativeTime } from '/views/format.js';
import { agentList, stateBadge, subagentText } from '/views/agents.js';
import { todoList } from '/views/todos.js';
import { activityList, activityTime, isWaiting, sessionName, workTotal } from '/select.js';

const $ = (id) => document.getElementById(id);
const base = (path) => path?.split('/').filter(Boolean).pop() ?? null;
const when = (s, now) => (activityTime(s) ? relativeTime(new Date(activityTime(s)).toISOString(), now) : null);

export function createActivity({ select, showActivity }) {
  let drawn = null; // what the detail panel was last drawn from (it is rebuilt only on change)

  function row(s, sub) {
    return el('li', {
      class: 'activity-item',
      dataset: { sessionId: s.id, state: s.state ?? '' },
      tabindex: '0',
      onclick: () => (s.hasTaskList ? select(s.id) : showActivity(s.id)),
      onkeydown: (e) => { if (e.key === 'Enter') e.currentTarget.click(); },
    },
    el('div', { class: 'name' }, stateBadge(s), el('span', { class: 'label' }, sessionName(s)),
      s.hasTaskList ? el('span', { class: 'badge progress-text' }, `${s.completed}/${workTotal(s)} tasks`)
        : el('span', { class: 'badge no-list', title: 'This session has written no task list' }, 'no task list')),
    isWaiting(s) && s.waitingFor ? el('div', { class: 'waiting-for' }, s.waitingFor) : null,
    el('div', { class: 'sub' }, sub));
  }

  function detail(state, now) {
    const sid = state.activitySelected;
    const found = sid ? state.activity.get(sid) ?? state.sessions.get(sid) : null;
    // A summary from the task lists does not say it has one; being there says so.
    const listed = Boolean(sid) && state.sessions.has(sid);
    const s = found && listed && !found.hasTaskList ? { ...found, hasTaskList: true } : found;
    const agents = sid ? state.agents.get(sid) ?? null : null;
    const todos = sid ? state.todos.get(sid) : undefined;
    const minute = Math.floor(now / 60_000);
    $('activity-detail').hidden = !sid;
    const key = [found, agents, minute, sid, listed, todos];
    if (drawn?.every((v, i) => v === key[i])) return;
    drawn = key;
    const close = el('button', { type: 'button', class: 'icon', title: 'Close', onclick: () => showActivity(null) }, '✕');
    if (!sid) $('activity-detail').replaceChildren();
    else if (!s) {
      $('activity-detail').replaceChildren(el('header', {}, el('h3', {}, 'Session not in Activity'), close),
        el('p', { class: 'muted' }, 'It has had no activity in the last 48 hours, or it is gone.'));
    } else $('activity-detail').replaceChildren(...facts(s, agents, todos, close, now).filter(Boolean));
  }

  function facts(s, agents, todos, close, now) {
    const fact = (term, value) => (value ? [el('dt', {}, term), el('dd', {}, value)] : []);
    return [
      el('header', {}, el('h3', {}, stateBadge(s), ' ', sessionName(s)), close),
      isWaiting(s) ? el('p', { class: 'waiting-for' }, `Waiting for you: ${s.waitingFor ?? 'input'}`) : null,
      el('dl', { class: 'facts' },
        fact('Project', s.project),
        fact('Working directory', s.cwd && s.cwd !== s.project ? s.cwd : null),
        fact('Branch', s.gitBranch),
        fact('Session', s.id),
        fact('Last activity', when(s, now)),
        fact('Task list', s.hasTaskList ? `${s.completed}/${workTotal(s)} tasks done` : 'none')),
      s.hasTaskList ? el('button', { type: 'button', onclick: () => select(s.id) }, 'Open its task list')
        : el('p', { class: 'muted' }, 'This session keeps no task list. Claude Code writes one only when its task tools are on: ',
          el('code', {}, 'CLAUDE_CODE_ENABLE_TODO_TOOLS=1'), '.'),
      s.hasTaskList ? null : el('h4', {}, 'Todos'),
      s.hasTaskList ? null : todoList(todos),
      el('h4', {}, subagentText(s) ?? 'Subagents'),
      agentList(agents, now)];
  }

  return {
    render(state, now) {
      $('activity').hidden = state.page !== 'activity';
      if (state.page !== 'activity') return;
      detail(state, now);
      const items = activityList(state);
      $('activity-empty').hidden = items.length > 0 || !state.activityLoaded;
      const sub = (s) => [base(s.project), s.gitBranch, when(s, now), subagentText(s)].filter(Boolean).join(' · ');
      reconcile($('activity-list'), items.map((s) => [s, sub(s)]), {
        key: ([s]) => s.id,
        inputs: ([s, text]) => [s, text],
        build: ([s, text]) => row(s, text),
        patch: (node, [s]) => setAttr(node, 'aria-current', state.activitySelected === s.id ? 'true' : null),
      });
    },
  };
}
