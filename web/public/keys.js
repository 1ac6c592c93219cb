// The board's keyboard: `/` search, `?` help, j/k or the arrows move between cards, Enter
// opens, D deletes the open task, Esc closes (or leaves a text field). Keys that type into a
// field, chords, an open dialog and the pages without cards (Features has keys of its own) are
// left alone.

import { sessionView } from '/select.js';

export function bindKeys({ getState, search, help, moveFocus, openFocused, closeTask, askDelete }) {
  document.addEventListener('keydown', (e) => {
    const state = getState();
    const typing = e.target.closest?.('input, textarea, select');
    if (e.key === 'Escape') {
      if (typing) e.target.blur();
      else if (state.openTask) closeTask();
      return;
    }
    if (typing || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector('dialog[open]')) return;
    // Pages without cards, and a session's Plan tab, leave the card keys alone.
    if ((state.page !== 'tasks' || sessionView(state) === 'plan') && e.key !== '/' && e.key !== '?') return;
    switch (e.key) {
      case '/': e.preventDefault(); search.focus(); break;
      case '?': help.showModal(); break;
      case 'j': case 'ArrowDown': e.preventDefault(); moveFocus(1); break;
      case 'k': case 'ArrowUp': e.preventDefault(); moveFocus(-1); break;
      case 'Enter': openFocused(); break;
      case 'D': case 'd': if (state.openTask) askDelete(); break;
      default:
    }
  });
}
