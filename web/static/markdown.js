// A small Markdown renderer that builds DOM nodes with createElement and
// textContent only: no text from the model or the user is ever parsed as
// HTML, so raw tags stay text and no handler or script can come from it.
// Links are kept only for http:, https: and mailto:. It covers what chat
// answers use: headings, paragraphs, emphasis, inline code, fenced code
// (highlighted, with a Copy button), lists (nested), block quotes, rules
// and pipe tables. An unclosed fence (a streaming answer) renders as code.
//
// Every input renders in time linear in its length (a model's answer is
// not trusted to be kind): no regular expression here can backtrack over
// more than the run it matches, each search for a closing mark is
// remembered so that no stretch of text is scanned again for the same mark,
// and nesting (quotes, lists, inline marks) is cut at a fixed depth.

import { highlight } from './highlight.js';

const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/** safeHref returns href if it is an absolute http(s) or mailto URL, else "". */
export function safeHref(href) {
  const s = String(href).trim();
  if (!/^(https?:\/\/|mailto:)/i.test(s)) return '';
  try {
    const u = new URL(s);
    return SAFE_SCHEMES.has(u.protocol) ? u.href : '';
  } catch {
    return '';
  }
}

/** renderMarkdown returns a DocumentFragment for the Markdown text. */
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  renderBlocks(String(text).replace(/\r\n?/g, '\n').split('\n'), frag, 0);
  return frag;
}

// MAX_DEPTH bounds nesting: quotes and lists deeper than this render as
// paragraphs, inline marks deeper than this as text.
const MAX_DEPTH = 16;

const fenceOpen = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const headingOpen = /^ {0,3}(#{1,6})\s+/;
const rule = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const bullet = /^( {0,3})([-*+])\s+(.*)$/;
const ordered = /^( {0,3})(\d{1,9})[.)]\s+(.*)$/;
const quote = /^ {0,3}>\s?(.*)$/;
const sepCell = /^:?-+:?$/;

/** heading returns a heading line's level and text (closing hashes taken off), or null. */
function heading(line) {
  const m = headingOpen.exec(line);
  if (!m) return null;
  let text = line.slice(m[0].length).trimEnd();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  text = text.slice(0, end).trimEnd();
  return { level: m[1].length, text };
}

/** isTableSep tells a table's delimiter row: cells of dashes, colons at their ends. */
function isTableSep(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|')) s = s.slice(0, -1);
  return s.split('|').every((c) => sepCell.test(c.trim()));
}

/** hardBreakless takes off a line's hard-break mark: two or more trailing spaces, or a backslash. */
function hardBreakless(line) {
  if (line.endsWith('\\')) return line.slice(0, -1);
  let end = line.length;
  while (end > 0 && line[end - 1] === ' ') end--;
  return line.length - end >= 2 ? line.slice(0, end) : line;
}

function renderBlocks(lines, parent, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    let m;
    if ((m = fenceOpen.exec(line))) {
      const fence = m[1];
      const close = new RegExp('^ {0,3}' + fence[0] + '{' + fence.length + ',}\\s*$');
      const code = [];
      i++;
      while (i < lines.length && !close.test(lines[i])) {
        code.push(lines[i]);
        i++;
      }
      i++; // the closing fence, if any
      parent.append(codeBlock(code.join('\n'), m[2]));
      continue;
    }
    if ((m = heading(line))) {
      const h = document.createElement('h' + m.level);
      renderInline(m.text, h, 0);
      parent.append(h);
      i++;
      continue;
    }
    if (rule.test(line)) {
      parent.append(document.createElement('hr'));
      i++;
      continue;
    }
    if (depth < MAX_DEPTH && quote.test(line)) {
      const inner = [];
      while (i < lines.length && (m = quote.exec(lines[i]))) { inner.push(m[1]); i++; }
      const bq = document.createElement('blockquote');
      renderBlocks(inner, bq, depth + 1);
      parent.append(bq);
      continue;
    }
    if (depth < MAX_DEPTH && (bullet.test(line) || ordered.test(line))) {
      i = renderList(lines, i, parent, depth);
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && lines[i + 1].includes('-') && isTableSep(lines[i + 1])) {
      i = renderTable(lines, i, parent);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) { para.push(lines[i]); i++; }
    if (para.length === 0) { para.push(lines[i]); i++; }
    const p = document.createElement('p');
    // Every line break is kept (chat text is written line by line), as
    // GitHub does in comments.
    para.forEach((l, k) => {
      if (k > 0) p.append(document.createElement('br'));
      renderInline(hardBreakless(l), p, 0);
    });
    parent.append(p);
  }
}

function startsBlock(line) {
  return fenceOpen.test(line) || heading(line) !== null || rule.test(line) || quote.test(line) ||
    bullet.test(line) || ordered.test(line);
}

function renderList(lines, i, parent, depth) {
  const first = bullet.exec(lines[i]) || ordered.exec(lines[i]);
  const isOrdered = !bullet.test(lines[i]);
  const list = document.createElement(isOrdered ? 'ol' : 'ul');
  if (isOrdered && first[2] !== '1') list.start = Number(first[2]);
  const indent = first[1].length;
  while (i < lines.length) {
    const m = isOrdered ? ordered.exec(lines[i]) : bullet.exec(lines[i]);
    if (!m || m[1].length !== indent) break;
    const item = [m[3]];
    const contentIndent = lines[i].length - m[3].length;
    i++;
    // Continuation: indented lines, and blank lines followed by indented ones.
    while (i < lines.length) {
      const l = lines[i];
      if (!l.trim()) {
        if (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]) && leading(lines[i + 1]) > indent) { item.push(''); i++; continue; }
        break;
      }
      if (leading(l) > indent) { item.push(l.slice(Math.min(leading(l), contentIndent))); i++; continue; }
      if (!startsBlock(l) && item[item.length - 1].trim()) { item.push(l); i++; continue; } // lazy continuation
      break;
    }
    const li = document.createElement('li');
    if (item.length === 1) renderInline(item[0], li, 0);
    else {
      renderBlocks(item, li, depth + 1);
      // A tight item's single paragraph reads better without margins.
      if (li.firstChild && li.firstChild.tagName === 'P' && !item.includes('')) li.firstChild.style.margin = '0';
    }
    list.append(li);
    while (i < lines.length && !lines[i].trim() && i + 1 < lines.length &&
      ((isOrdered ? ordered : bullet).exec(lines[i + 1])?.[1].length === indent)) i++;
  }
  parent.append(list);
  return i;
}

function leading(line) { return line.length - line.trimStart().length; }

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

function renderTable(lines, i, parent) {
  const table = document.createElement('table');
  const head = splitRow(lines[i]);
  const aligns = splitRow(lines[i + 1]).map((c) => (c.endsWith(':') ? (c.startsWith(':') ? 'center' : 'right') : ''));
  const thead = table.createTHead().insertRow();
  head.forEach((c, k) => {
    const th = document.createElement('th');
    if (aligns[k]) th.style.textAlign = aligns[k];
    renderInline(c, th, 0);
    thead.append(th);
  });
  const body = table.createTBody();
  i += 2;
  while (i < lines.length && lines[i].includes('|') && lines[i].trim()) {
    const row = body.insertRow();
    splitRow(lines[i]).forEach((c, k) => {
      const td = row.insertCell();
      if (aligns[k]) td.style.textAlign = aligns[k];
      renderInline(c, td, 0);
    });
    i++;
  }
  parent.append(table);
  return i;
}

function codeBlock(code, lang) {
  const wrap = document.createElement('div');
  wrap.className = 'codeblock';
  const head = document.createElement('div');
  head.className = 'code-head';
  const label = document.createElement('span');
  label.textContent = lang || 'code';
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy';
  copy.textContent = 'Copy';
  copy.addEventListener('click', () => copyText(code, copy));
  head.append(label, copy);
  const pre = document.createElement('pre');
  const el = document.createElement('code');
  if (lang) el.className = 'language-' + lang.replace(/[^\w+#-]/g, '');
  el.append(highlight(code, lang));
  pre.append(el);
  wrap.append(head, pre);
  return wrap;
}

/** copyText puts text on the clipboard (a selection where the clipboard API is missing) and says so on button. */
export async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // No clipboard API (an insecure origin): copy through a selection.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
  }
  button.textContent = ok ? 'Copied' : 'Copy failed';
  setTimeout(() => { button.textContent = 'Copy'; }, 1500);
}

// Inline Markdown: code spans, links, autolinks, strong, emphasis,
// strikethrough, escapes. Everything else is text. depth counts the marks
// text is nested in; past MAX_DEPTH the text is taken as it is.
function renderInline(text, parent, depth) {
  if (depth >= MAX_DEPTH) {
    if (text) parent.append(text);
    return;
  }
  let memo = null; // made at the first mark: most lines have none
  const marks = () => memo || (memo = new Marks(text));
  let buf = '';
  const flush = () => { if (buf) { parent.append(buf); buf = ''; } };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const run = runAt(text, i);
      const end = marks().codeCloser(run, i + run.length);
      if (end > 0) {
        flush();
        const code = document.createElement('code');
        let inner = text.slice(i + run.length, end);
        if (inner.length >= 2 && inner[0] === ' ' && inner[inner.length - 1] === ' ') inner = inner.slice(1, -1);
        code.textContent = inner;
        parent.append(code);
        i = end + run.length;
        continue;
      }
      buf += run;
      i += run.length;
      continue;
    }
    if (c === '[' || (c === '!' && text[i + 1] === '[')) {
      const link = marks().link(c === '!' ? i + 1 : i);
      if (link) {
        flush();
        const href = safeHref(link.href);
        if (href) {
          const a = document.createElement('a');
          a.href = href;
          a.rel = 'noopener noreferrer nofollow';
          a.target = '_blank';
          renderInline(link.label || link.href, a, depth + 1);
          parent.append(a);
        } else {
          // An unsafe or relative link (javascript:, data:, ...) keeps only its text.
          const span = document.createElement('span');
          span.className = 'unsafe-link';
          span.title = 'link removed';
          renderInline(link.label, span, depth + 1);
          parent.append(span);
        }
        i = link.end;
        continue;
      }
    }
    if (c === '<') {
      const m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(text.slice(i));
      if (m && safeHref(m[1])) {
        flush();
        parent.append(anchor(m[1]));
        i += m[0].length;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && (i === 0 || /[\s(]/.test(text[i - 1]))) {
      const m = /^https?:\/\/[^\s<>]*[^\s<>.,;:!?"')\]]/i.exec(text.slice(i));
      if (m) {
        flush();
        // What is not a URL stays text, whole: the next "http" in it must
        // not be tried again to the end of the run.
        if (safeHref(m[0])) parent.append(anchor(m[0]));
        else parent.append(m[0]);
        i += m[0].length;
        continue;
      }
    }
    if (c === '*' || c === '_' || c === '~') {
      const run = runAt(text, i);
      const n = Math.min(run.length, c === '~' ? 2 : 3);
      const marker = c.repeat(n);
      const canOpen = text[i + n] && !/\s/.test(text[i + n]) &&
        (c !== '_' || i === 0 || !/\w/.test(text[i - 1])) && (c !== '~' || n === 2);
      if (canOpen) {
        const end = marks().closer(marker, i + n);
        if (end > 0) {
          flush();
          let el;
          if (c === '~') el = document.createElement('del');
          else if (n === 3) { el = document.createElement('strong'); const em = document.createElement('em'); el.append(em); }
          else el = document.createElement(n === 2 ? 'strong' : 'em');
          renderInline(text.slice(i + n, end), el.firstChild && el.firstChild.nodeType === 1 ? el.firstChild : el, depth + 1);
          parent.append(el);
          i = end + n;
          continue;
        }
      }
      buf += run;
      i += run.length;
      continue;
    }
    buf += c;
    i++;
  }
  flush();
}

/** runAt is the run of the character at i: "***" in "a***b" at 1. */
function runAt(text, i) {
  let j = i + 1;
  while (j < text.length && text[j] === text[i]) j++;
  return text.slice(i, j);
}

/**
 * Marks finds the closing marks of one text, each search remembered: the
 * answer for a later start comes from the earlier one wherever the two
 * scans would have crossed the same stretch, so that a text full of
 * openers that never close is still read once per kind of mark.
 */
class Marks {
  constructor(text) {
    this.text = text;
    this.closers = new Map(); // marker → Map(occurrence → closer or -1)
    this.code = new Map(); // run → {from, at}: the last search for a code span's end
    this.brackets = null; // '[' position → its ']' position
    this.parens = null; // '(' position → its ')' position
  }

  /**
   * closer is where emphasis opened with marker before from closes: the
   * first occurrence of marker from "from" on, skipping (by the marker's
   * length) those that cannot close; -1 if none.
   */
  closer(marker, from) {
    const text = this.text;
    let memo = this.closers.get(marker);
    if (!memo) { memo = new Map(); this.closers.set(marker, memo); }
    const chain = [];
    let j = text.indexOf(marker, from);
    let found = -1;
    while (j > 0) {
      if (memo.has(j)) { found = memo.get(j); break; }
      chain.push(j);
      const before = text[j - 1];
      const after = text[j + marker.length];
      if (!/\s/.test(before) && after !== marker[0] && (marker[0] !== '_' || !after || !/\w/.test(after))) { found = j; break; }
      j = text.indexOf(marker, j + marker.length);
    }
    for (const k of chain) memo.set(k, found);
    return found;
  }

  /** codeCloser is the next occurrence of run from "from" on, -1 if none. */
  codeCloser(run, from) {
    const last = this.code.get(run);
    // No occurrence lies between last.from and last.at: a start in there
    // has the same answer.
    if (last && from >= last.from && (last.at < 0 || from <= last.at)) return last.at;
    const at = this.text.indexOf(run, from);
    this.code.set(run, { from, at });
    return at;
  }

  /** link parses [label](href "title") at i, the position of "[". */
  link(i) {
    if (!this.brackets) this.match();
    const j = this.brackets.get(i);
    if (j === undefined || this.text[j + 1] !== '(') return null;
    const k = this.parens.get(j + 1);
    if (k === undefined) return null;
    const text = this.text;
    const label = text.slice(i + 1, j);
    let href = text.slice(j + 2, k).trim();
    const titled = /^(\S+)\s+["'(].*["')]$/.exec(href);
    if (titled) href = titled[1];
    if (href.startsWith('<') && href.endsWith('>')) href = href.slice(1, -1);
    return { label, href, end: k + 1 };
  }

  /**
   * match pairs every bracket (backslash-escaped ones left out) and every
   * parenthesis in one pass: the pair of an opener is where the depth
   * counted from it first comes back to zero.
   */
  match() {
    const text = this.text;
    this.brackets = new Map();
    this.parens = new Map();
    const squares = [];
    const rounds = [];
    for (let j = 0; j < text.length; j++) {
      const c = text[j];
      if (c === '(') rounds.push(j);
      else if (c === ')') { if (rounds.length) this.parens.set(rounds.pop(), j); }
      if (c === '\\') { j++; if (text[j] === '(') rounds.push(j); else if (text[j] === ')' && rounds.length) this.parens.set(rounds.pop(), j); continue; }
      if (c === '[') squares.push(j);
      else if (c === ']' && squares.length) this.brackets.set(squares.pop(), j);
    }
  }
}

function anchor(url) {
  const a = document.createElement('a');
  a.href = safeHref(url);
  a.rel = 'noopener noreferrer nofollow';
  a.target = '_blank';
  a.textContent = url;
  return a;
}
