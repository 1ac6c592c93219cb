// Keyed lists. Each item has a key (a session id, `sessionId/taskId`) and the inputs its element
// is built from; an element whose inputs are the same values as last time is kept as it is, one
// whose inputs changed is rebuilt in its place, and the rest are moved only when out of order.
// So a live change to one task touches one card: the others keep their focus, hover, text
// selection and scroll position.

const lists = new WeakMap(); // parent -> Map(key -> { inputs, node })

const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/**
 * Makes `parent`'s children the elements of `items`, in order. `key(item)` names an item,
 * `inputs(item)` lists what its element shows (compared with Object.is), `build(item)` makes a
 * new element, and `patch(node, item)` (optional) sets what is cheap to set on every render.
 */
export function reconcile(parent, items, { key, inputs, build, patch }) {
  const before = lists.get(parent) ?? new Map();
  const after = new Map();
  let cursor = parent.firstChild;
  for (const item of items) {
    const k = key(item);
    const args = inputs(item);
    const old = before.get(k);
    let node = old?.node;
    if (!old || !same(old.inputs, args)) {
      node = build(item);
      if (old?.node.parentNode === parent) {
        if (cursor === old.node) cursor = node;
        old.node.replaceWith(node);
      }
    }
    after.set(k, { inputs: args, node });
    patch?.(node, item);
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  lists.set(parent, after);
}

/** Sets an element's text only when it differs (no needless layout or mutation records). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Sets an attribute to a string, or removes it for null. */
export function setAttr(node, name, value) {
  if (value === null) node.removeAttribute(name);
  else if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}
