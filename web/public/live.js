// The live stream: one EventSource on /api/events, and the connection badge (#conn). The board
// sends its first read once the stream is open (the server subscribes it before answering), and
// events wait here until that read's answer is laid down (`release`), so nothing that happens in
// between is lost. Each event is handed on with its SSE id (`lastEventId`), which orders it
// against the board's reads (see store.js).

export function connect(badge, onEvent) {
  const set = (state, label) => {
    badge.dataset.state = state;
    badge.textContent = label;
    badge.title = label;
  };
  let queue = [];
  let opened;
  const open = new Promise((resolve) => { opened = resolve; });
  const events = new EventSource('/api/events');
  events.onopen = () => {
    set('live', 'live');
    opened();
  };
  events.onerror = () => set('reconnecting', 'reconnecting…');
  events.onmessage = (msg) => {
    let event;
    try {
      event = JSON.parse(msg.data);
    } catch {
      return;
    }
    const id = msg.lastEventId === '' ? NaN : Number(msg.lastEventId);
    if (queue) queue.push([event, id]);
    else onEvent(event, id);
  };
  return {
    /** Settles when the stream is open, or after `ms` if it is slow to (a proxy that holds the
     * response back must not keep the board empty). */
    opened: (ms) => Promise.race([open, new Promise((resolve) => { setTimeout(resolve, ms); })]),
    /** The first read is in: hand on what waited, then every event as it comes. */
    release() {
      const waiting = queue ?? [];
      queue = null;
      for (const [event, id] of waiting) onEvent(event, id);
    },
  };
}
