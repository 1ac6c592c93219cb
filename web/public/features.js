// The Features view (contract §5): the feature store as columns by derived `state`, a
// dependency graph drawn in SVG, and drag and drop to reorder, start and complete. Nothing moves
// until the server agrees: cards sit where the last fetched list puts them, and a refused move
// leaves the card in place with the server's reason (and its `blockedBy` chips) on it. People
// add, edit and import features through the dialogs of feature-editor.js.

import { api, el } from '/common.js';
import { createFeatureEditor } from '/feature-editor.js';

/** Columns by derived `state` (contract §5); `move` below says what a drop on each one asks for. */
const COLUMNS = [
  { key: 'ready', title: 'Ready', states: ['ready'] },
  { key: 'blocked', title: 'Blocked', states: ['blocked', 'cycle'] },
  { key: 'in_progress', title: 'In progress', states: ['in_progress', 'review'] },
  { key: 'needs_input', title: 'Needs input', states: ['needs_input'] },
  { key: 'done', title: 'Done', states: ['done', 'cancelled'] },
];
const COUNTS = [['total', 'total'], ['ready', 'ready'], ['blocked', 'blocked'], ['cycle', 'in a cycle'], ['in_progress', 'in progress'],
  ['review', 'review'], ['needs_input', 'needs input'], ['done', 'done'], ['cancelled', 'cancelled']];
const LEGEND = ['ready', 'blocked', 'cycle', 'in_progress', 'review', 'needs_input', 'done', 'cancelled'];
const SVG_NS = 'http://www.w3.org/2000/svg';
const NODE = { w: 190, h: 46, gapX: 70, gapY: 18, pad: 16 };

const columnOf = (f) => (COLUMNS.find((c) => c.states.includes(f.state)) ?? COLUMNS[0]).key;
const label = (state) => state.replace('_', ' ');

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  node.append(...children.filter(Boolean));
  return node;
}

/**
 * Mounts the view in `root` (an empty, hidden section). The board calls `show`/`hide` when the
 * route changes and `handleEvent` with every live event; `onModeChange` lets it update the URL.
 */
export function createFeatures(root, { onModeChange = () => {} } = {}) {
  const view = {
    active: false,
    mode: 'columns', // or 'graph'
    list: null, // the last GET /api/features body
    graph: null, // the last GET /api/features/graph body (fetched only while the graph shows)
    problem: null, // 'disabled', or an error message
    stale: true, // never fetched, or something changed while the view was hidden
    loading: false,
    again: false, // a change arrived while loading: fetch once more when done
    drag: null, // { id, column } while a card is being dragged
    deferred: false, // a render waits for the drag to end
    focus: null, // feature id highlighted by a chip or graph click
    refusals: new Map(), // feature id -> { version, message, blockedBy }
  };

  // ----- skeleton (built once; renders replace only the lists) ---------------------------
  const counts = el('div', { class: 'fcounts', role: 'status', 'aria-label': 'Feature counts' });
  const modeButtons = ['columns', 'graph'].map((mode) => el('button', {
    type: 'button', dataset: { fmode: mode }, onclick: () => setMode(mode, true),
  }, mode === 'columns' ? 'Columns' : 'Graph'));
  const editor = createFeatureEditor({ features: () => view.list?.features ?? [], saved });
  const actions = el('div', { class: 'factions' },
    el('button', { type: 'button', class: 'primary', id: 'feature-add', onclick: () => editor.openAdd() }, 'Add feature'),
    el('button', { type: 'button', id: 'feature-import', onclick: () => editor.openImport() }, 'Import…'),
    el('div', { class: 'segmented', role: 'group', 'aria-label': 'Features view' }, modeButtons));
  const head = el('header', { class: 'fhead' }, counts, actions);
  const message = el('div', { class: 'empty fmessage', hidden: true });
  const columns = COLUMNS.map((c) => el('div', { class: 'column fcolumn', dataset: { column: c.key } },
    el('h3', {}, c.title, ' ', el('span', { class: 'count' }, '0')),
    el('ol', { class: 'cards' })));
  const board = el('div', { class: 'fboard', 'aria-label': 'Features by state' }, columns);
  const graph = el('div', { class: 'fgraph', hidden: true });
  root.replaceChildren(head, message, board, graph);
  for (const col of columns) bindDrop(col);

  // ----- data ----------------------------------------------------------------------------

  /** Re-fetches now, or once more after the fetch in flight: a burst of events costs two. */
  function refresh() {
    if (!view.active) {
      view.stale = true;
      return;
    }
    if (view.loading) {
      view.again = true;
      return;
    }
    view.loading = true;
    load().finally(() => {
      view.loading = false;
      if (view.again) {
        view.again = false;
        refresh();
      }
    });
  }

  async function load() {
    const withGraph = view.mode === 'graph';
    // Cleared before the fetch, so a change that arrives during it (while the view is hidden,
    // say) marks the view stale again instead of being forgotten.
    view.stale = false;
    try {
      const [list, g] = await Promise.all([
        api('/api/features'),
        withGraph ? api('/api/features/graph') : null,
      ]);
      // A write and its own event both refetch: when nothing changed, leave the DOM alone, so
      // a card the user is about to drag is not swapped out from under the pointer.
      const same = !view.problem && JSON.stringify(list) === JSON.stringify(view.list)
        && (!withGraph || JSON.stringify(g) === JSON.stringify(view.graph));
      view.list = list;
      if (withGraph) view.graph = g;
      view.problem = null;
      if (same && !view.deferred) return;
    } catch (err) {
      view.problem = err.body?.code === 'features_disabled' ? 'disabled' : err.message;
    }
    render();
    editor.listChanged();
  }

  const byId = (id) => view.list?.features.find((f) => f.id === id);

  /** A form or an import was saved: show the list with it (its own event refetches too, and
   * the two fetches coalesce); a single feature written is highlighted. */
  function saved(ids) {
    if (ids.length === 1) view.focus = ids[0];
    refresh();
  }

  // ----- writes --------------------------------------------------------------------------

  /** One write for feature `f`; a refusal is kept (for this version of it) and drawn on its card. */
  async function send(f, path, init) {
    try {
      await api(path, init);
      if (view.refusals.delete(f.id)) render();
    } catch (err) {
      refuse(f, err.message, err.body?.blockedBy);
    }
    refresh();
  }

  /** `f` is the version the refusal is about: once the feature changes, the refusal goes. */
  function refuse(f, message, blockedBy) {
    view.refusals.set(f.id, { version: f.version, message, blockedBy: Array.isArray(blockedBy) ? blockedBy : [] });
    render();
  }

  function move(f, column) {
    const path = `/api/features/${f.id}`;
    const patch = (status) => send(f, path, { method: 'PATCH', body: JSON.stringify({ status }) });
    switch (column) {
      case 'in_progress':
      case 'needs_input':
        // `done` goes back only through reopen (contract §5): a drag out of Done means both.
        if (f.status === 'done') return reopenThen(f, column);
        return patch(column);
      case 'done': return send(f, `${path}/complete`, { method: 'POST', body: '{}' });
      case 'ready':
        if (f.status === 'done') return send(f, `${path}/reopen`, { method: 'POST', body: '{}' });
        if (f.state === 'blocked' || f.state === 'cycle') {
          // Only its prerequisites can make it ready: say so instead of a no-op write.
          return refuse(f, 'Not ready: its prerequisites are not done', f.blockedBy);
        }
        if (f.claimedBy && !window.confirm(`Put #${f.id} back in the queue? ${f.claimedBy}'s claim on it ends.`)) return undefined;
        return patch('pending');
      default: return undefined;
    }
  }

  async function reopenThen(f, status) {
    let reopened;
    try {
      reopened = await api(`/api/features/${f.id}/reopen`, { method: 'POST', body: '{}' });
    } catch (err) {
      refuse(f, err.message, err.body?.blockedBy);
      return refresh();
    }
    return send(reopened, `/api/features/${f.id}`, { method: 'PATCH', body: JSON.stringify({ status }) });
  }

  function reorder(f, key, otherId) {
    return send(f, '/api/features/reorder', { method: 'POST', body: JSON.stringify({ id: f.id, [key]: otherId }) });
  }

  // ----- drag and drop -------------------------------------------------------------------

  function bindDrop(col) {
    const key = col.dataset.column;
    const accepts = (e) => {
      if (!view.drag) return false;
      // Within a column only a card is a target (reorder); the Blocked column takes no moves.
      if (key === view.drag.column) return Boolean(e.target.closest?.('.fcard'));
      return key !== 'blocked';
    };
    col.addEventListener('dragover', (e) => {
      if (!accepts(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
      col.classList.add('drop-target');
    });
    col.addEventListener('dragleave', (e) => {
      if (!col.contains(e.relatedTarget)) col.classList.remove('drop-target');
    });
    col.addEventListener('drop', (e) => {
      col.classList.remove('drop-target');
      if (!accepts(e)) return;
      e.preventDefault();
      const f = byId(view.drag.id);
      if (!f) return;
      if (key !== view.drag.column) {
        move(f, key);
        return;
      }
      const over = e.target.closest('.fcard');
      const otherId = Number(over.dataset.featureId);
      if (otherId === f.id) return;
      const rect = over.getBoundingClientRect();
      reorder(f, e.clientY < rect.top + rect.height / 2 ? 'before' : 'after', otherId);
    });
  }

  function dragStart(e, f) {
    view.drag = { id: f.id, column: columnOf(f) };
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', `#${f.id} ${f.name}`);
    e.currentTarget.classList.add('dragging');
  }

  function dragEnd(e) {
    e.currentTarget.classList.remove('dragging');
    for (const col of columns) col.classList.remove('drop-target');
    view.drag = null;
    if (view.deferred) render();
  }

  // ----- rendering -----------------------------------------------------------------------

  function render() {
    if (!view.active) return;
    // Replacing the cards under a drag would cancel it: draw once it ends.
    if (view.drag) {
      view.deferred = true;
      return;
    }
    view.deferred = false;
    for (const b of modeButtons) b.setAttribute('aria-pressed', String(b.dataset.fmode === view.mode));
    const empty = view.list && view.list.counts.total === 0;
    showMessage(empty);
    const ok = view.list && !view.problem && !empty;
    head.hidden = view.problem === 'disabled';
    board.hidden = !ok || view.mode !== 'columns';
    graph.hidden = !ok || view.mode !== 'graph';
    root.dataset.loaded = String(Boolean(view.list || view.problem));
    if (!view.list || view.problem) return;
    renderCounts();
    // Hidden lists are kept current too, so nothing stale shows when they reappear.
    renderColumns();
    if (view.mode === 'graph' && view.graph) renderGraph();
  }

  function showMessage(empty) {
    let parts = null;
    if (view.problem === 'disabled') {
      parts = [el('h3', {}, 'The feature store is off'),
        el('p', {}, 'Flow was started with ', el('code', {}, '--no-db'), ' (or ', el('code', {}, 'FLOW_DB=off'),
          '), so there are no features to plan here. Restart it without that to use the Features view.')];
    } else if (view.problem) {
      parts = [el('h3', {}, 'Could not load features'), el('p', { class: 'error' }, view.problem)];
    } else if (empty) {
      parts = [el('h3', {}, 'No features yet'),
        el('p', {}, 'Add one with ', el('b', {}, 'Add feature'), ' or ', el('b', {}, 'Import…'), ' above, or ', el('code', {}, 'flow features add'),
          '; agents and scripts add them with ', el('code', {}, 'POST /api/features'), '. They appear here live.')];
    }
    message.hidden = !parts;
    message.dataset.kind = view.problem === 'disabled' ? 'disabled' : view.problem ? 'error' : empty ? 'empty' : '';
    if (parts) message.replaceChildren(...parts);
  }

  function renderCounts() {
    // The server's counts have no `cycle` (contract §5); the Blocked column holds those too,
    // so count them here and the chips add up to the columns.
    const c = { ...view.list.counts, cycle: view.list.features.filter((f) => f.state === 'cycle').length };
    counts.replaceChildren(...COUNTS.filter(([k]) => k === 'total' || c[k] > 0).map(([k, text]) =>
      el('span', { class: 'chip', dataset: { count: k } }, el('b', {}, String(c[k] ?? 0)), ` ${text}`)));
  }

  function renderColumns() {
    const features = view.list.features;
    for (const [id, r] of view.refusals) if (byId(id)?.version !== r.version) view.refusals.delete(id);
    for (const col of columns) {
      const items = features.filter((f) => columnOf(f) === col.dataset.column);
      col.querySelector('.count').textContent = String(items.length);
      col.querySelector('.cards').replaceChildren(...items.map(card));
    }
  }

  function chip(id) {
    const f = byId(id);
    return el('button', {
      type: 'button', class: 'chip open', dataset: { featureId: id }, title: `Prerequisite #${id}`,
      onclick: () => focusCard(id),
    }, f ? `#${id} ${f.name}` : `#${id}`);
  }

  function card(f) {
    const done = f.steps.filter((s) => s.done).length;
    const bar = el('span');
    bar.style.width = `${f.steps.length ? Math.round((done / f.steps.length) * 100) : 0}%`;
    const blocked = f.state === 'blocked' || f.state === 'cycle';
    const refusal = view.refusals.get(f.id);
    return el('li', {
      class: `card fcard${view.focus === f.id ? ' focused' : ''}`,
      draggable: 'true',
      dataset: { featureId: f.id, state: f.state, status: f.status },
      ondragstart: (e) => dragStart(e, f),
      ondragend: dragEnd,
    },
    el('div', { class: 'top' }, el('span', { class: 'task-id' }, `#${f.id}`),
      f.category ? el('span', { class: 'badge category' }, f.category) : null,
      ['review', 'cancelled', 'cycle'].includes(f.state) ? el('span', { class: `badge state-${f.state}` }, label(f.state)) : null,
      el('button', {
        type: 'button', class: 'icon fedit', title: 'Edit', 'aria-label': `Edit #${f.id} ${f.name}`,
        draggable: 'false', onclick: () => editor.openEdit(f),
      }, '✎')),
    el('p', { class: 'subject' }, f.name),
    f.steps.length ? el('div', { class: 'fsteps', title: 'Acceptance steps done' },
      el('div', { class: 'progress' }, bar), el('span', { class: 'steps-text' }, `${done}/${f.steps.length} steps`)) : null,
    f.claimedBy ? el('div', { class: 'claimed' }, `claimed by ${f.claimedBy}`) : null,
    f.state === 'cycle' ? el('p', { class: 'blocked-reason' }, 'In a dependency cycle') : null,
    blocked && f.blockedBy.length ? el('div', { class: 'blocked-by' }, el('span', {}, 'Blocked by'), f.blockedBy.map(chip)) : null,
    refusal ? el('div', { class: 'refusal', role: 'alert' },
      el('p', { class: 'error' }, `Refused: ${refusal.message}`),
      refusal.blockedBy.length ? el('div', { class: 'blocked-by' }, el('span', {}, 'Blocked by'), refusal.blockedBy.map(chip)) : null,
      el('button', { type: 'button', class: 'icon dismiss', title: 'Dismiss', onclick: () => { view.refusals.delete(f.id); render(); } }, '✕'))
      : null);
  }

  function focusCard(id) {
    view.focus = id;
    if (view.mode !== 'columns') setMode('columns', true);
    else render();
    board.querySelector(`.fcard[data-feature-id="${id}"]`)?.scrollIntoView({ block: 'nearest' });
  }

  function renderGraph() {
    const { nodes, edges, cycles } = view.graph;
    const { w, h, gapX, gapY, pad } = NODE;
    const layerOf = new Map(nodes.map((n) => [n.id, n.layer]));
    // An edge that skips layers arcs over the nodes between (its apex this far above its ends),
    // so it is not hidden behind them; the top margin makes room for the highest arc.
    const rise = (e) => {
      const span = Math.abs((layerOf.get(e.target) ?? 0) - (layerOf.get(e.source) ?? 0));
      return span > 1 ? h / 2 + 8 + 6 * (span - 2) : 0;
    };
    const top = pad + Math.max(0, ...edges.map((e) => rise(e) - h / 2));
    const pos = new Map();
    const rows = new Map(); // layer -> nodes placed so far
    for (const n of nodes) {
      const row = rows.get(n.layer) ?? 0;
      rows.set(n.layer, row + 1);
      pos.set(n.id, { x: pad + n.layer * (w + gapX), y: top + row * (h + gapY) });
    }
    const nLayers = Math.max(0, ...rows.keys()) + 1;
    const nRows = Math.max(1, ...rows.values());
    // Members of a cycle share a layer: their edges loop off the right side of the column,
    // into the gap before the next one (and a margin after the last).
    const sameLayer = (e) => layerOf.get(e.source) === layerOf.get(e.target);
    const width = pad * 2 + nLayers * w + (nLayers - 1) * gapX + (edges.some(sameLayer) ? gapX : 0);
    const height = top + pad + nRows * h + (nRows - 1) * gapY;
    const sameCycle = (a, b) => cycles.some((c) => c.includes(a) && c.includes(b));
    const arrow = (id, cls) => svg('marker', {
      id, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto',
    }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));

    const edgeEls = edges.map((e) => {
      const a = pos.get(e.source);
      const b = pos.get(e.target);
      if (!a || !b) return null;
      const cyc = sameCycle(e.source, e.target);
      let d;
      if (sameLayer(e)) {
        // Right side to right side; a self edge leaves and comes back a little apart.
        const self = e.source === e.target;
        const [y1, y2] = [a.y + h / 2 - (self ? 10 : 0), b.y + h / 2 + (self ? 10 : 0)];
        // Upward edges swing wider, so the two edges of a 2-cycle do not draw over each other.
        const out = Math.min(gapX - 12, 22 + Math.abs(y2 - y1) / 8 + (y2 < y1 ? 18 : 0));
        const x = a.x + w;
        d = `M${x},${y1} C${x + out},${y1} ${x + out},${y2} ${x},${y2}`;
      } else {
        const [x1, y1, x2, y2] = [a.x + w, a.y + h / 2, b.x, b.y + h / 2];
        const dx = Math.max(40, Math.abs(x2 - x1) / 2);
        const lift = rise(e) / 0.75; // a cubic's midpoint reaches 3/4 of its control points' lift
        d = `M${x1},${y1} C${x1 + dx},${y1 - lift} ${x2 - dx},${y2 - lift} ${x2},${y2}`;
      }
      return svg('path', {
        class: `gedge${cyc ? ' in-cycle' : ''}`,
        d,
        'marker-end': `url(#${cyc ? 'farrow-cycle' : 'farrow'})`,
        'data-source': e.source,
        'data-target': e.target,
      });
    });
    const nodeEls = nodes.map((n) => {
      const { x, y } = pos.get(n.id);
      const name = n.name.length > 24 ? `${n.name.slice(0, 23)}…` : n.name;
      const g = svg('g', {
        class: `gnode${n.inCycle ? ' in-cycle' : ''}`, transform: `translate(${x},${y})`,
        'data-feature-id': n.id, 'data-state': n.state, role: 'button', tabindex: 0,
      },
      svg('title', {}, `#${n.id} ${n.name} (${label(n.state)}${n.inCycle && n.state !== 'cycle' ? ', in a cycle' : ''})`),
      svg('rect', { width: w, height: h, rx: 8 }),
      svg('text', { x: 10, y: 17, class: 'gid' }, `#${n.id} · ${label(n.state)}${n.inCycle ? ' ↻' : ''}`),
      svg('text', { x: 10, y: 35, class: 'gname' }, name));
      g.addEventListener('click', () => focusCard(n.id));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') focusCard(n.id); });
      return g;
    });
    const drawing = svg('svg', {
      class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': `Dependency graph: ${nodes.length} features, ${edges.length} dependencies`,
    },
    svg('defs', {}, arrow('farrow', 'garrow'), arrow('farrow-cycle', 'garrow in-cycle')),
    svg('g', { class: 'gedges' }, ...edgeEls),
    svg('g', { class: 'gnodes' }, ...nodeEls));
    const legend = el('div', { class: 'glegend' }, LEGEND.map((s) =>
      el('span', { class: 'legend-item', dataset: { state: s } }, el('i', {}), label(s))));
    graph.replaceChildren(legend, drawing);
  }

  // ----- what the board calls ------------------------------------------------------------

  /** Columns or graph; the graph is fetched fresh whenever it comes into view. */
  function setMode(mode, announce = false) {
    if (mode === view.mode) return;
    view.mode = mode;
    if (mode === 'graph') view.stale = true;
    if (announce) onModeChange(mode);
    render();
    if (view.stale) refresh();
  }

  return {
    get mode() { return view.mode; },
    /** Idempotent: the board calls it on every render, and redrawing under the user's
     * pointer or keyboard focus for an unrelated task event would lose a click or a focus. */
    show(mode = view.mode) {
      const wasActive = view.active;
      view.active = true;
      root.hidden = false;
      if (mode !== view.mode) setMode(mode);
      else if (!wasActive) render();
      if (view.stale) refresh();
    },
    hide() {
      view.active = false;
      root.hidden = true;
    },
    /** Every live event: a feature changed (or the stream asks to re-fetch everything). */
    handleEvent(event) {
      if (event.type === 'feature-update' || event.type === 'resync') refresh();
    },
  };
}
