// A small Markdown renderer that is safe by construction: it builds DOM nodes with
// createElement/textContent and never parses HTML, so a task description cannot inject
// markup or script. Links are kept only for http(s) and mailto.

const SAFE_URL = /^(https?:|mailto:)/i;

function inline(text, parent) {
  // Tokens: `code`, **bold**, *italic* / _italic_, [label](url)
  const re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    const tok = m[0];
    if (m[1]) {
      const el = document.createElement('code');
      el.textContent = tok.slice(1, -1);
      parent.append(el);
    } else if (m[2]) {
      const el = document.createElement('strong');
      inline(tok.slice(2, -2), el);
      parent.append(el);
    } else if (m[3]) {
      const el = document.createElement('em');
      inline(tok.slice(1, -1), el);
      parent.append(el);
    } else {
      const label = tok.slice(1, tok.indexOf(']('));
      const url = tok.slice(tok.indexOf('](') + 2, -1);
      if (SAFE_URL.test(url)) {
        const a = document.createElement('a');
        a.href = url;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        a.textContent = label;
        parent.append(a);
      } else {
        parent.append(tok);
      }
    }
    last = m.index + tok.length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** Renders `source` into a DocumentFragment. */
export function renderMarkdown(source) {
  const frag = document.createDocumentFragment();
  const lines = String(source ?? '').replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  let para = [];
  const flush = () => {
    if (!para.length) return;
    const p = document.createElement('p');
    para.forEach((line, n) => {
      if (n) p.append(document.createElement('br'));
      inline(line, p);
    });
    frag.append(p);
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      const body = [];
      i += 1;
      while (i < lines.length && !/^```/.test(lines[i])) body.push(lines[i++]);
      code.textContent = body.join('\n');
      pre.append(code);
      frag.append(pre);
      i += 1;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const h = document.createElement(`h${Math.min(heading[1].length + 1, 6)}`);
      inline(heading[2], h);
      frag.append(h);
      i += 1;
      continue;
    }
    if (/^\s*(---|\*\*\*|___)\s*$/.test(line)) {
      flush();
      frag.append(document.createElement('hr'));
      i += 1;
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const list = document.createElement(ordered ? 'ol' : 'ul');
      while (i < lines.length) {
        const m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i]);
        if (!m) break;
        const li = document.createElement('li');
        const task = /^\[( |x|X)\]\s+(.*)$/.exec(m[2]);
        if (task) {
          const box = document.createElement('input');
          box.type = 'checkbox';
          box.disabled = true;
          box.checked = task[1] !== ' ';
          li.append(box, ' ');
          inline(task[2], li);
        } else {
          inline(m[2], li);
        }
        list.append(li);
        i += 1;
      }
      frag.append(list);
      continue;
    }
    if (/^>\s?/.test(line)) {
      flush();
      const quote = document.createElement('blockquote');
      const body = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) body.push(lines[i++].replace(/^>\s?/, ''));
      quote.append(renderMarkdown(body.join('\n')));
      frag.append(quote);
      continue;
    }
    if (!line.trim()) {
      flush();
    } else {
      para.push(line);
    }
    i += 1;
  }
  flush();
  return frag;
}
