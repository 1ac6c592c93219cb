// The timeline: one row per card, a bar from the task's creation to its last change, on a scale
// that spans every shown task (so a row is rebuilt when its task or the scale changes).

import { el } from '/common.js';
import { reconcile } from '/views/keyed.js';
import { statusOf } from '/select.js';

export function createTimeline({ open }) {
  return {
    render(root, cards) {
      const times = cards.flatMap(([, t]) => [Date.parse(t.createdAt), Date.parse(t.updatedAt)]).filter(Number.isFinite);
      const start = Math.min(...times);
      const span = Math.max(Math.max(...times) - start, 1);
      const rows = [...cards].sort((a, b) => Date.parse(a[1].createdAt) - Date.parse(b[1].createdAt));
      reconcile(root, rows, {
        key: ([sid, t]) => `${sid}/${t.id}`,
        inputs: ([, t]) => [t, start, span],
        build: ([sid, t]) => {
          const from = Date.parse(t.createdAt);
          const to = Math.max(Date.parse(t.updatedAt), from);
          const bar = el('div', { class: 'tl-bar', dataset: { status: statusOf(t) }, title: `${t.createdAt} → ${t.updatedAt}` });
          bar.style.left = `${((from - start) / span) * 100}%`;
          bar.style.width = `${Math.max(((to - from) / span) * 100, 0.5)}%`;
          return el('div', { class: 'tl-row', dataset: { taskId: t.id, sessionId: sid } },
            el('span', { class: 'tl-label', onclick: () => open(sid, String(t.id)) }, `#${t.id} ${t.subject ?? ''}`),
            el('div', { class: 'tl-track' }, bar));
        },
      });
    },
  };
}
