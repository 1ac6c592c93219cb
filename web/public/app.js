// Placeholder board: lists sessions with their progress. The full board replaces this.
const list = document.getElementById('sessions');
const status = document.getElementById('status');

async function load() {
  const res = await fetch('/api/sessions?limit=all');
  if (!res.ok) throw new Error(`GET /api/sessions: ${res.status}`);
  const sessions = await res.json();
  list.replaceChildren(...sessions.map((s) => {
    const li = document.createElement('li');
    const title = document.createElement('strong');
    title.textContent = s.name ?? s.slug ?? s.id.slice(0, 8);
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = `${s.completed}/${s.taskCount} done · ${s.project ?? 'no project'}`;
    li.append(title, meta);
    return li;
  }));
  status.textContent = sessions.length
    ? `${sessions.length} session(s)`
    : 'No task lists yet. Ask Claude Code to plan work as a task list and it will appear here.';
}

load().catch((err) => { status.textContent = `Could not load sessions: ${err.message}`; });
