// The toolbar: what the main area shows (title and subtitle, or the last error; for a session,
// its agent state and its subagents, listed under the toolbar on request), the Board / Timeline
// switch (and Plan, for a session with a plan), the theme (applied to the page here) and the Notify toggle. It also keeps the page
// title, which carries the Needs-you count so a background tab shows it, and the notice (a
// machine of the team board came or went).

import { el } from '/common.js';
import { setAttr, setText } from '/views/keyed.js';
import { agentList, stateBadge, subagentText } from '/views/agents.js';
import { currentCards, filteredSessions, isOffline, isWaiting, machineLabel, sessionName, sessionView, waitingSessions } from '/select.js';

const $ = (id) => document.getElementById(id);

function heading(state) {
  if (state.page === 'features') return ['Features', 'The feature store: drag a card to reorder, start or complete it'];
  if (state.page === 'activity') return ['Activity', 'Every Claude Code session of the last 48 hours, with or without a task list'];
  if (state.page === 'teams') {
    const team = state.teamSelected && state.teams.get(state.teamSelected);
    if (state.teamSelected) return [state.teamSelected, team ? [team.description, team.project].filter(Boolean).join(' · ') : ''];
    return ['Teams', 'Agent teams: who is working, on what, and what they tell each other'];
  }
  if (state.selected === '*') {
    return ['All tasks', `${currentCards(state).length} tasks across ${filteredSessions(state).length} sessions`];
  }
  const s = state.selected && state.sessions.get(state.selected);
  if (s) {
    const machine = machineLabel(s);
    const where = machine && `on ${machine}${isOffline(s) ? ' (offline: its last data)' : ''}`;
    return [sessionName(s), [where, s.project, s.gitBranch, s.description].filter(Boolean).join(' · ')];
  }
  return ['Flow', 'Pick a session'];
}

export function createToolbar({ toggleAgents }) {
  let status = null; // [session, open] last drawn in #session-status
  let panel = null; // [list, minute] last drawn in #agents-panel

  function sessionStatus(state) {
    const s = state.page === 'tasks' && state.selected !== '*' ? state.sessions.get(state.selected) : null;
    const open = Boolean(s) && state.agentsOpen === s.id;
    $('session-status').hidden = !s?.state;
    if (!s?.state || (status?.[0] === s && status[1] === open)) return;
    status = [s, open];
    const agents = subagentText(s);
    $('session-status').replaceChildren(...[stateBadge(s),
      isWaiting(s) && s.waitingFor ? el('span', { class: 'waiting-for' }, s.waitingFor) : null,
      agents ? el('button', {
        id: 'agents-toggle', type: 'button', class: 'link', 'aria-expanded': String(open), onclick: () => toggleAgents(s.id),
      }, agents) : null].filter(Boolean));
  }

  function agentsPanel(state, now) {
    const sid = state.page === 'tasks' && state.agentsOpen === state.selected ? state.selected : null;
    $('agents-panel').hidden = !sid;
    if (!sid) {
      panel = null;
      return;
    }
    const list = state.agents.get(sid) ?? null;
    const minute = Math.floor(now / 60_000);
    if (panel?.[0] === list && panel[1] === minute) return;
    panel = [list, minute];
    $('agents-panel').replaceChildren(el('h3', {}, 'Subagents'), agentList(list, now));
  }

  return {
    render(state, now) {
      const [title, subtitle] = heading(state);
      setText($('view-title'), title);
      setText($('view-subtitle'), state.error ? `Error: ${state.error}` : subtitle);
      $('notice').hidden = !state.notice;
      setText($('notice'), state.notice?.text ?? '');
      sessionStatus(state);
      agentsPanel(state, now);
      const waiting = waitingSessions(state).length;
      const pageTitle = waiting ? `(${waiting}) Flow` : 'Flow';
      if (document.title !== pageTitle) document.title = pageTitle;
      $('view-switch').hidden = state.page !== 'tasks';
      const shown = state.page === 'tasks' && state.selected !== '*' ? state.sessions.get(state.selected) : null;
      $('plan-tab').hidden = !shown?.planSlug;
      const view = sessionView(state);
      for (const b of document.querySelectorAll('[data-view]')) setAttr(b, 'aria-pressed', String(b.dataset.view === view));
      setAttr($('notify'), 'aria-pressed', String(state.notify));
      const root = document.documentElement;
      if (state.theme === 'light' || state.theme === 'dark') {
        if (root.dataset.theme !== state.theme) root.dataset.theme = state.theme;
      } else if ('theme' in root.dataset) {
        delete root.dataset.theme;
      }
      if ($('theme').value !== state.theme) $('theme').value = state.theme;
    },
  };
}
