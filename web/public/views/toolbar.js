// The toolbar: what the main area shows (title and subtitle, or the last error), the Board /
// Timeline switch, the theme (applied to the page here) and the Notify toggle.

import { setAttr, setText } from '/views/keyed.js';
import { currentCards, filteredSessions, sessionName } from '/select.js';

const $ = (id) => document.getElementById(id);

function heading(state) {
  if (state.page === 'features') return ['Features', 'The feature store: drag a card to reorder, start or complete it'];
  if (state.selected === '*') {
    return ['All tasks', `${currentCards(state).length} tasks across ${filteredSessions(state).length} sessions`];
  }
  const s = state.selected && state.sessions.get(state.selected);
  if (s) return [sessionName(s), [s.project, s.gitBranch, s.description].filter(Boolean).join(' · ')];
  return ['Flow', 'Pick a session'];
}

export function createToolbar() {
  return {
    render(state) {
      const [title, subtitle] = heading(state);
      setText($('view-title'), title);
      setText($('view-subtitle'), state.error ? `Error: ${state.error}` : subtitle);
      $('view-switch').hidden = state.page === 'features';
      for (const b of document.querySelectorAll('[data-view]')) setAttr(b, 'aria-pressed', String(b.dataset.view === state.view));
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
