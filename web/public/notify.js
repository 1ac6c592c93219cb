// "Notify": a chime and a desktop notification when a task completes or a session starts waiting
// for the user (the store says when; this only makes the noise). The choice is kept in
// localStorage, per browser.

import { sessionName } from '/select.js';

const KEY = 'flow.notify';

export const notifyWanted = () => localStorage.getItem(KEY) === 'on';

export async function rememberNotify(on) {
  if (on && 'Notification' in window && Notification.permission === 'default') {
    await Notification.requestPermission();
  }
  localStorage.setItem(KEY, on ? 'on' : 'off');
}

export function celebrate(task, session) {
  chime();
  if ('Notification' in window && Notification.permission === 'granted') {
    const name = session ? sessionName(session) : '';
    new Notification(`Completed: ${task.subject ?? `#${task.id}`}`, { body: name, silent: true });
  }
}

/** A session needs the user: say which one, and what it waits for (the registry's `waitingFor`). */
export function announceWaiting(session) {
  chime();
  if ('Notification' in window && Notification.permission === 'granted') {
    // One notification per session: a newer wait replaces the older one instead of piling up.
    new Notification(`Waiting: ${sessionName(session)}`, { body: session.waitingFor ?? 'needs your input', tag: `waiting:${session.id}` });
  }
}

function chime() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.35);
    osc.onended = () => ctx.close();
  } catch {
    // No audio device: the notification alone will do.
  }
}
