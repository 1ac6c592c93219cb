// How an agent's state reads wherever it shows (sidebar, toolbar, Activity): the state badge
// and a session's subagent list.

import { el } from '/common.js';
import { relativeTime } from '/views/format.js';

const TITLES = {
  busy: 'Busy: the agent is working',
  waiting: 'Waiting for you',
  idle: 'Idle: the agent is done for now and the session is open',
  shell: 'Running a shell command',
  ended: 'Ended: no Claude Code process is running this session',
};

/** The session's state as a badge, or null for a summary that has none. */
export function stateBadge(s) {
  if (!s.state) return null;
  return el('span', { class: 'agent-state', dataset: { state: s.state }, title: TITLES[s.state] ?? s.state }, s.state);
}

/** "1/3 subagents running", or null when the session never started one. */
export function subagentText(s) {
  const { running = 0, total = 0 } = s.subagents ?? {};
  return total ? `${running}/${total} subagent${total === 1 ? '' : 's'} running` : null;
}

/** A session's subagents (/api/sessions/:id/agents), running ones first. */
export function agentList(list, now) {
  if (!list) return el('p', { class: 'muted' }, 'Loading subagents…');
  if (!list.length) return el('p', { class: 'muted' }, 'No subagents.');
  const sorted = [...list].sort((a, b) => Number(b.running) - Number(a.running));
  return el('ul', { class: 'agent-list' }, sorted.map((a) => el('li', { dataset: { agentId: a.agentId, running: String(a.running) } },
    el('span', { class: 'agent-state', dataset: { state: a.running ? 'busy' : 'ended' } }, a.running ? 'running' : 'done'),
    el('span', { class: 'agent-type' }, a.agentType ?? 'agent'),
    el('span', { class: 'agent-desc' }, a.description ?? ''),
    a.lastActivityAt ? el('span', { class: 'when' }, relativeTime(a.lastActivityAt, now)) : null)));
}
