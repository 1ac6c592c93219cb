// Agent teams (contract §6): the Teams page (`#/teams`: every team with its members as cards,
// their state and what each works on; `#/teams/<team>`: one team with its inbox as a
// conversation, newest last), and the members panel the board shows beside a team's task list.
// Protocol messages (idle notices, shutdown requests and answers, task assignments) are told in
// one line; a message one agent wrote to another is Markdown, rendered as DOM nodes only.

import { el } from '/common.js';
import { renderMarkdown } from '/markdown.js';
import { reconcile, setAttr, setText } from '/views/keyed.js';
import { relativeTime } from '/views/format.js';
import { boardTeamName, describeMessage, messageKeys, teamList } from '/select.js';

const $ = (id) => document.getElementById(id);
const base = (path) => path?.split('/').filter(Boolean).pop() ?? null;

const STATE_TITLES = {
  working: 'Working: it is doing something now',
  idle: 'Idle: it waits for work or a message',
  stopped: 'Stopped: it has shut down, or its team has ended',
};

/** A member's state as a badge. */
function memberState(state) {
  return el('span', { class: 'member-state', dataset: { state }, title: STATE_TITLES[state] ?? state }, state);
}

/** One member as a card: who it is, its state, and the task it works on. */
export function memberCard(m) {
  return el('li', { class: 'member', dataset: { member: m.name, state: m.state ?? '', color: m.color ?? '' } },
    el('div', { class: 'name' }, el('span', { class: 'swatch' }), el('span', { class: 'label' }, m.name),
      m.lead ? el('span', { class: 'badge lead', title: 'The team lead' }, 'lead') : null, memberState(m.state)),
    el('div', { class: 'sub' }, [m.agentType, m.model].filter(Boolean).join(' · ')),
    m.currentTask ? el('div', { class: 'current', title: m.currentTask }, m.currentTask)
      : el('div', { class: 'current none' }, m.state === 'working' ? 'no task in progress' : '—'));
}

function members(list, team) {
  reconcile(list, team.members ?? [], {
    key: (m) => m.name,
    inputs: (m) => [m.state, m.currentTask, m.agentType, m.model, m.color, m.lead],
    build: memberCard,
  });
}

/** "2 working · 1 idle": how a team stands, at a glance. */
function counts(team) {
  const by = {};
  for (const m of team.members ?? []) by[m.state] = (by[m.state] ?? 0) + 1;
  return ['working', 'idle', 'stopped'].filter((s) => by[s]).map((s) => `${by[s]} ${s}`).join(' · ');
}

function progress(team) {
  const total = (team.completed ?? 0) + (team.inProgress ?? 0) + (team.pending ?? 0);
  return total ? `${team.completed}/${total} tasks` : null;
}

export function createTeams({ showTeams, select }) {
  let conversation = null; // [team, messages, minute] last drawn: rebuilt only on change

  function teamItem(team, open) {
    const list = el('ul', { class: 'members' });
    members(list, team);
    return el('li', { class: 'team', dataset: { team: team.name } },
      el('header', {},
        el('h3', {}, open ? team.name : el('button', { type: 'button', class: 'link team-open', onclick: () => showTeams(team.name) }, team.name)),
        el('span', { class: 'team-counts' }, counts(team)),
        progress(team) ? el('span', { class: 'badge progress-text' }, progress(team)) : null,
        team.taskListId ? el('button', { type: 'button', class: 'team-tasks', onclick: () => select(team.taskListId) }, 'Task list') : null),
      el('p', { class: 'team-sub' }, [team.description, base(team.project)].filter(Boolean).join(' · ')),
      list);
  }

  function message(m, now) {
    const told = describeMessage(m);
    const when = el('time', { datetime: m.timestamp ?? '', title: m.timestamp ?? '' }, m.timestamp ? relativeTime(m.timestamp, now) : '');
    if (told.compact) {
      return el('li', { class: 'message protocol', dataset: { kind: m.kind, from: m.from ?? '' } },
        el('span', { class: 'what' }, told.text), when);
    }
    return el('li', { class: 'message', dataset: { kind: 'message', from: m.from ?? '' } },
      el('header', {}, el('span', { class: 'from' }, m.from ?? '?'), el('span', { class: 'to' }, `→ ${m.to ?? '?'}`),
        m.read === false ? el('span', { class: 'badge unread', title: 'Not read by its recipient yet' }, 'unread') : null, when),
      m.summary ? el('p', { class: 'summary' }, m.summary) : null,
      el('div', { class: 'markdown' }, renderMarkdown(m.text ?? '')));
  }

  function inbox(state, team, now) {
    const box = $('team-messages');
    const list = state.messages.get(team) ?? null;
    const minute = Math.floor(now / 60_000);
    const loading = !state.messages.has(team);
    setText($('team-inbox-note'), loading ? 'Loading messages…' : !list?.length ? 'No messages yet.' : `${list.length} message${list.length === 1 ? '' : 's'}, newest last`);
    if (conversation?.[0] === team && conversation[1] === list && conversation[2] === minute) return;
    // Kept at the bottom while it was there: new messages come into view, reading older ones
    // is not interrupted. Another team's conversation opens at its newest.
    const atEnd = conversation?.[0] !== team || box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    conversation = [team, list, minute];
    const items = list ?? [];
    const keys = messageKeys(items);
    reconcile(box, items.map((m, i) => [keys[i], m, minute]), {
      key: ([k]) => k,
      inputs: ([, m, at]) => [m.read, m.text, at],
      build: ([, m]) => message(m, now),
    });
    if (atEnd) box.scrollTop = box.scrollHeight;
  }

  return {
    render(state, now) {
      $('teams').hidden = state.page !== 'teams';
      if (state.page !== 'teams') {
        conversation = null;
        return;
      }
      const open = state.teamSelected;
      const all = teamList(state);
      const shown = open ? all.filter((t) => t.name === open) : all;
      $('teams-empty').hidden = !state.teamsLoaded || shown.length > 0;
      setText($('teams-empty'), open ? `No team named “${open}”: it may have been removed.`
        : 'No agent teams. Claude Code keeps a team in teams/<name>/ while an agent leads one; it shows here live.');
      $('teams-back').hidden = !open;
      reconcile($('team-list'), shown, {
        key: (t) => t.name,
        inputs: (t) => [t, t.name === open],
        build: (t) => teamItem(t, t.name === open),
      });
      const inboxShown = Boolean(open) && state.teams.has(open);
      $('team-inbox').hidden = !inboxShown;
      if (inboxShown) inbox(state, open, now);
      else conversation = null;
    },
  };
}

/** The members of the shown session's team, beside the board's columns. */
export function createTeamPanel({ showTeams }) {
  let drawn = null;
  return {
    render(state) {
      const name = boardTeamName(state);
      const team = name ? state.teams.get(name) ?? null : null;
      const panel = $('team-members');
      panel.hidden = !name || !state.teamsLoaded;
      if (panel.hidden) {
        drawn = null;
        return;
      }
      if (drawn?.[0] === name && drawn[1] === team) return;
      if (drawn?.[0] !== name || !team || !drawn[1]) {
        const list = el('ul', { class: 'members' });
        panel.replaceChildren(
          el('header', {}, el('h3', {}, 'Team'), el('button', { type: 'button', class: 'link', onclick: () => showTeams(name) }, name)),
          team ? el('p', { class: 'team-counts' }, counts(team)) : el('p', { class: 'muted' }, 'This team is gone.'),
          list);
      }
      drawn = [name, team];
      if (team) {
        setText(panel.querySelector('.team-counts'), counts(team));
        members(panel.querySelector('.members'), team);
      }
      setAttr(panel, 'data-team', name);
    },
  };
}
