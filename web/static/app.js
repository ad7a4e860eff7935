// The chat page: sign-in, the conversation list, the conversation with its
// streaming answer over the WebSocket, saved prompts and the usage view.
// Text from the model or the user reaches the DOM only through
// textContent and renderMarkdown (which builds nodes, never parses HTML).

import { api, APIError, setCSRF, Socket } from './api.js';
import { copyText, renderMarkdown } from './markdown.js';
import { defaultRange, showUsage } from './usage.js';
import { initPrompts, loadPrompts } from './prompts.js';

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  config: { models: [], default_model: '' },
  conversations: [],
  cursor: '',
  current: null, // {id, title, model, prompt_id, messages: [...]} or null for a new chat
  turn: null, // the answer streaming on this page
  stick: true, // follow the answer unless the reader scrolled up
  retry: null,
  socket: null,
  search: '', // the search shown in the list, '' for the newest conversations
  editing: null, // the user message being edited
};

const emptyNote = $('empty'); // detached while the messages are redrawn
const els = new Map(); // message id (or a local key) → its <article>

// ---- start-up and sign-in -------------------------------------------------

async function start() {
  try {
    state.me = await api('GET', '/api/me');
  } catch (e) {
    if (e instanceof APIError && e.status === 401) return showLogin();
    return fatal(e);
  }
  setCSRF(state.me.csrf);
  // The composer waits for the conversation to be shown: route() draws it
  // anew, and would drop a message sent before (a slow first load, as on
  // Lambda, gives a fast typist the time).
  $('input').disabled = true;
  $('login').hidden = true;
  $('app').hidden = false;
  $('whoami').textContent = state.me.local ? '' : state.me.name;
  $('logout').hidden = !!state.me.local;
  try {
    state.config = await api('GET', '/api/config');
  } catch (e) {
    showBanner('Cannot load the configuration: ' + e.message, start);
  }
  fillModels();
  $('provider-note').hidden = state.config.provider !== 'emulator';
  state.socket = new Socket(state.config.socket_url);
  state.socket.onmessage = onFrame;
  state.socket.onopen = onSocketOpen;
  state.socket.onstate = onSocketState;
  await Promise.all([loadConversations(false), loadPrompts().catch((e) => showBanner(e.message))]);
  try {
    await route();
  } finally {
    $('input').disabled = false;
  }
  if ($('chat').hidden === false) $('input').focus();
}

function fatal(e) {
  $('app').hidden = false;
  showBanner('The chat cannot start: ' + e.message, () => location.reload());
}

function showLogin() {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-name').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').hidden = true;
  try {
    await api('POST', '/api/login', { name: $('login-name').value, password: $('login-password').value });
    $('login-password').value = '';
    await start();
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? 'Wrong name or password.' : e.message;
    $('login-error').hidden = false;
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/logout'); } catch { /* signed out anyway */ }
  if (state.socket) state.socket.close();
  location.assign('/');
});

// ---- routing: "/#conv_..." is a conversation, "/usage" the usage view ------

async function route() {
  if (location.pathname === '/usage') return openUsage(false);
  $('usage').hidden = true;
  $('chat').hidden = false;
  const id = location.hash.slice(1);
  if (id) await openConversation(id);
  else newChat();
}

window.addEventListener('popstate', route);
window.addEventListener('hashchange', () => {
  const id = location.hash.slice(1);
  if (id && (!state.current || state.current.id !== id)) openConversation(id);
});

// ---- the conversation list -------------------------------------------------

async function loadConversations(more) {
  const search = state.search;
  try {
    const q = search
      ? '/api/conversations?limit=50&q=' + encodeURIComponent(search)
      : '/api/conversations?limit=20' + (more && state.cursor ? '&cursor=' + encodeURIComponent(state.cursor) : '');
    const page = await api('GET', q);
    if (search !== state.search) return; // a newer search is on its way
    state.conversations = more ? state.conversations.concat(page.data || []) : (page.data || []);
    state.cursor = page.next_cursor || '';
  } catch (e) {
    showBanner('Cannot list the conversations: ' + e.message, () => loadConversations(more));
  }
  drawConversations();
}

let searchTimer = 0;
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    const q = $('search').value.trim();
    if (q === state.search) return;
    state.search = q;
    state.cursor = '';
    loadConversations(false);
  }, 200);
});

function drawConversations() {
  const ul = $('conversations');
  ul.replaceChildren();
  for (const c of state.conversations) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#' + c.id;
    a.dataset.id = c.id;
    a.textContent = c.title || 'Untitled';
    a.title = c.title || '';
    if (state.current && state.current.id === c.id) a.setAttribute('aria-current', 'page');
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      closeDrawer();
      showChat();
      openConversation(c.id);
    });
    li.append(a);
    ul.append(li);
  }
  $('more').hidden = !state.cursor;
  $('no-matches').hidden = !(state.search && state.conversations.length === 0);
}

$('more').addEventListener('click', () => loadConversations(true));

/** touchConversation puts c first in the list (it has just changed). */
function touchConversation(c) {
  if (state.search && !state.conversations.some((x) => x.id === c.id)) return; // not a hit
  state.conversations = [c, ...state.conversations.filter((x) => x.id !== c.id)];
  drawConversations();
}

// ---- one conversation -----------------------------------------------------

function newChat() {
  state.current = null;
  state.turn = null;
  history.replaceState(null, '', '/');
  drawConversation();
  drawConversations();
  $('input').focus();
}

$('new-chat').addEventListener('click', () => { closeDrawer(); showChat(); newChat(); });

async function openConversation(id) {
  let conv;
  try {
    conv = await api('GET', '/api/conversations/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) { showBanner('That conversation does not exist.'); return newChat(); }
    return showBanner('Cannot load the conversation: ' + e.message, () => openConversation(id));
  }
  conv.messages = conv.messages || [];
  state.current = conv;
  if (state.turn && state.turn.conversationId !== conv.id) state.turn = null;
  if (location.hash.slice(1) !== id || location.pathname !== '/') history.replaceState(null, '', '/#' + id);
  state.stick = true;
  const last = conv.messages[conv.messages.length - 1];
  if (last && last.role === 'assistant' && last.status === 'streaming' && last.turn_id &&
      !(state.turn && state.turn.turnId === last.turn_id)) {
    // An answer is still being written (this page was reloaded, or another
    // one started it): replay it from the first delta, then follow it live.
    state.turn = {
      turnId: last.turn_id, conversationId: conv.id, messageId: last.id,
      seq: 0, text: '', stored: last.content || '', resumed: true,
    };
    state.socket.send({ type: 'resume', turn_id: last.turn_id, after_seq: 0 });
  }
  drawConversation();
  drawConversations();
}

function drawConversation() {
  const c = state.current;
  $('title').textContent = c ? (c.title || 'Untitled') : 'New chat';
  document.title = (c ? (c.title || 'Untitled') + ' · ' : '') + 'claudebridge chat';
  $('conv-actions').hidden = !c;
  if (c) {
    $('export-md').href = '/api/conversations/' + encodeURIComponent(c.id) + '/export?format=md';
    $('export-json').href = '/api/conversations/' + encodeURIComponent(c.id) + '/export?format=json';
  }
  $('model').value = (c && c.model) || $('model').value || state.config.default_model;
  $('prompt').value = (c && c.prompt_id) || '';
  const box = $('messages');
  els.clear();
  box.replaceChildren();
  state.editing = null; // an edit box left open is gone with its message
  const msgs = c ? c.messages : [];
  emptyNote.hidden = msgs.length > 0;
  box.append(emptyNote);
  for (const m of msgs) box.append(messageElement(m));
  drawControls();
  scrollToEnd(true);
}

function messageElement(m) {
  const art = document.createElement('article');
  art.className = 'msg ' + (m.role === 'user' ? 'user' : 'assistant');
  const body = document.createElement('div');
  body.className = 'body';
  const meta = document.createElement('div');
  meta.className = 'meta';
  art.append(body, meta);
  els.set(m.id, art);
  fillMessage(m, art);
  return art;
}

/** fillMessage draws m's text and its status line into art. */
function fillMessage(m, art) {
  art.dataset.id = m.id || '';
  art.dataset.role = m.role;
  art.dataset.status = m.status || '';
  const body = art.querySelector('.body');
  body.replaceChildren(renderMarkdown(m.content || ''));
  body.classList.toggle('cursor', m.status === 'streaming');
  const meta = art.querySelector('.meta');
  meta.replaceChildren();
  if (m.role !== 'assistant') {
    if (!state.turn && isStored(m)) meta.append(button('Edit', 'edit', () => editMessage(m, art)));
    return;
  }
  const last = state.current && state.current.messages[state.current.messages.length - 1] === m;
  const busy = !!state.turn;
  const label = { stopped: 'stopped', max_tokens: 'cut at max_tokens', interrupted: 'interrupted', error: 'error' }[m.status];
  if (label) {
    const s = document.createElement('span');
    s.className = 'status';
    s.textContent = label;
    meta.append(s);
  }
  if (m.status === 'error') {
    const s = document.createElement('span');
    s.className = 'err';
    s.textContent = m.error || 'The answer failed.';
    meta.append(s);
  }
  if (m.status === 'streaming') return;
  if (m.model) {
    const s = document.createElement('span');
    s.textContent = m.model;
    meta.append(s);
  }
  if (m.usage && (m.usage.input_tokens || m.usage.output_tokens)) {
    const s = document.createElement('span');
    s.textContent = `${m.usage.input_tokens || 0} in · ${m.usage.output_tokens || 0} out`;
    if (m.output_tokens_counted) {
      // Cut before the model gave its count: counted from the text.
      s.textContent += ' (counted)';
      s.title = 'The answer was cut before the model reported its output tokens; they were counted from its text.';
    }
    meta.append(s);
  }
  if (m.content) meta.append(button('Copy', 'copy', (ev) => copyText(m.content, ev.currentTarget)));
  if (busy || !m.id) return;
  if (last && (m.status === 'stopped' || m.status === 'max_tokens' || m.status === 'interrupted')) {
    meta.append(button('Continue', 'continue', () => continueAnswer(m)));
  }
  if (m.status === 'error') meta.append(button('Retry', 'retry', () => regenerate(m)));
  else meta.append(button('Regenerate', 'regenerate', () => regenerate(m)));
}

/** isStored tells a message the server has (not a placeholder of a turn being started). */
function isStored(m) { return !!m.id && !m.id.startsWith('local-'); }

function button(text, action, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.dataset.action = action;
  b.addEventListener('click', onclick);
  return b;
}

function redrawMessage(m) {
  const art = els.get(m.id);
  if (art) fillMessage(m, art);
}

function redrawMetas() {
  if (!state.current) return;
  for (const m of state.current.messages) if (m !== state.editing) redrawMessage(m);
}

function drawControls() {
  const busy = !!state.turn;
  $('send').hidden = busy;
  $('stop').hidden = !busy;
  $('stop').disabled = busy && !state.turn.turnId;
}

// ---- following the answer -------------------------------------------------

$('messages').addEventListener('scroll', () => {
  const box = $('messages');
  state.stick = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
});

function scrollToEnd(force) {
  if (!force && !state.stick) return;
  const box = $('messages');
  box.scrollTop = box.scrollHeight;
}

// ---- turns ----------------------------------------------------------------

function pushMessage(m) {
  state.current.messages.push(m);
  emptyNote.hidden = true;
  $('messages').append(messageElement(m));
}

/** beginTurn shows a placeholder answer and sends frame. */
function beginTurn(frame, kind, message) {
  state.stick = true;
  state.turn = { turnId: '', conversationId: state.current ? state.current.id : '', seq: 0, text: '', kind, frame, message };
  drawControls();
  redrawMetas();
  scrollToEnd(true);
  state.socket.send(frame);
}

function send(text) {
  if (state.turn || !text.trim()) return;
  hideBanner();
  if (!state.current) {
    state.current = { id: '', title: '', model: $('model').value, prompt_id: $('prompt').value, messages: [] };
  }
  const user = { id: 'local-user-' + Date.now(), role: 'user', content: text, status: 'complete' };
  const answer = { id: 'local-answer-' + Date.now(), role: 'assistant', content: '', status: 'streaming' };
  pushMessage(user);
  pushMessage(answer);
  const frame = { type: 'send', conversation_id: state.current.id, text };
  if ($('model').value) frame.model = $('model').value;
  if ($('prompt').value) frame.prompt_id = $('prompt').value;
  beginTurn(frame, 'send', answer);
  state.turn.user = user;
}

function continueAnswer(m) {
  if (state.turn) return;
  hideBanner();
  m.status = 'streaming';
  beginTurn({ type: 'continue', conversation_id: state.current.id }, 'continue', m);
  state.turn.base = m.content || '';
  state.turn.messageId = m.id;
  redrawMessage(m);
}

function regenerate(m) {
  if (state.turn) return;
  hideBanner();
  const msgs = state.current.messages;
  const at = msgs.indexOf(m);
  for (const gone of msgs.splice(at)) {
    const art = els.get(gone.id);
    if (art) art.remove();
    els.delete(gone.id);
  }
  const answer = { id: 'local-answer-' + Date.now(), role: 'assistant', content: '', status: 'streaming' };
  pushMessage(answer);
  beginTurn({ type: 'regenerate', conversation_id: state.current.id, message_id: m.id }, 'regenerate', answer);
}

/** editMessage swaps a user message's text for a box to edit it in. */
function editMessage(m, art) {
  if (state.turn || state.editing) return;
  state.editing = m;
  const body = art.querySelector('.body');
  const box = document.createElement('form');
  box.className = 'edit-box';
  const ta = document.createElement('textarea');
  ta.value = m.content || '';
  ta.setAttribute('aria-label', 'Edit the message');
  const row = document.createElement('div');
  row.className = 'row';
  const save = button('Send', 'save-edit', () => box.requestSubmit());
  save.className = 'primary';
  const cancel = button('Cancel', 'cancel-edit', () => { state.editing = null; fillMessage(m, art); });
  row.append(cancel, save);
  box.append(ta, row);
  box.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = ta.value;
    if (!text.trim()) return;
    state.editing = null;
    if (text === m.content) { fillMessage(m, art); return; }
    resend(m, text);
  });
  ta.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); box.requestSubmit(); }
    if (ev.key === 'Escape') cancel.click();
  });
  body.replaceChildren(box);
  body.classList.remove('cursor');
  art.querySelector('.meta').replaceChildren();
  ta.focus();
}

/** resend replaces the user message m and everything after it with text and its new answer. */
function resend(m, text) {
  if (state.turn) return;
  hideBanner();
  const msgs = state.current.messages;
  for (const gone of msgs.splice(msgs.indexOf(m))) {
    const art = els.get(gone.id);
    if (art) art.remove();
    els.delete(gone.id);
  }
  const user = { id: 'local-user-' + Date.now(), role: 'user', content: text, status: 'complete' };
  const answer = { id: 'local-answer-' + Date.now(), role: 'assistant', content: '', status: 'streaming' };
  pushMessage(user);
  pushMessage(answer);
  beginTurn({ type: 'edit', conversation_id: state.current.id, message_id: m.id, text }, 'edit', answer);
  state.turn.user = user;
}

/** onSocketState says when the server cannot be reached, and when it is back. */
let connTimer = 0;
let wasDown = false;
function onSocketState(open) {
  const el = $('conn');
  clearTimeout(connTimer);
  if (!open) {
    wasDown = true;
    el.textContent = 'The server cannot be reached. Trying again…';
    el.classList.remove('ok');
    el.hidden = false;
    return;
  }
  if (!wasDown) return;
  wasDown = false;
  el.textContent = 'Connected to the server again.';
  el.classList.add('ok');
  el.hidden = false;
  connTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

function onSocketOpen() {
  // After a drop: pick up the answer where this page left it.
  const t = state.turn;
  if (t && t.turnId) state.socket.send({ type: 'resume', turn_id: t.turnId, after_seq: t.seq });
}

function onFrame(f) {
  const t = state.turn;
  switch (f.type) {
    case 'turn':
      if (!t || t.turnId) return;
      onTurn(t, f);
      return;
    case 'delta':
      if (!t || f.turn_id !== t.turnId || f.seq <= t.seq) return;
      t.seq = f.seq;
      t.text += f.text;
      scheduleDraw();
      return;
    case 'done':
      if (!t || f.turn_id !== t.turnId) return;
      onDone(t, f);
      return;
    case 'error':
      onSocketError(t, f);
      return;
  }
}

function onTurn(t, f) {
  t.turnId = f.turn_id;
  t.conversationId = f.conversation_id;
  const c = state.current;
  if (t.kind !== 'continue') {
    const m = t.message;
    const art = els.get(m.id);
    els.delete(m.id);
    m.id = f.message_id;
    m.turn_id = f.turn_id;
    if (art) { art.dataset.id = m.id; els.set(m.id, art); }
    if (t.user && f.user_message_id) {
      const ua = els.get(t.user.id);
      els.delete(t.user.id);
      t.user.id = f.user_message_id;
      if (ua) { ua.dataset.id = t.user.id; els.set(t.user.id, ua); }
    }
  }
  t.messageId = f.message_id;
  if (c && !c.id) {
    c.id = f.conversation_id;
    c.title = f.title || c.title;
    history.replaceState(null, '', '/#' + c.id);
  } else if (c && f.title) c.title = f.title;
  if (c) {
    touchConversation({ id: c.id, title: c.title, model: c.model, prompt_id: c.prompt_id });
    $('title').textContent = c.title || 'Untitled';
    $('conv-actions').hidden = false;
    $('export-md').href = '/api/conversations/' + encodeURIComponent(c.id) + '/export?format=md';
    $('export-json').href = '/api/conversations/' + encodeURIComponent(c.id) + '/export?format=json';
  }
  drawControls();
}

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    const t = state.turn;
    if (!t || !state.current) return;
    const m = state.current.messages.find((x) => x.id === t.messageId);
    if (!m) return;
    m.content = turnText(t);
    m.status = 'streaming';
    redrawMessage(m);
    scrollToEnd(false);
  });
}

/**
 * turnText is the message's text so far: its base (the text before this
 * turn: a continued answer's earlier part; what REST gave for a resumed
 * turn, which is the text before the turn) and the turn's deltas.
 */
function turnText(t) {
  if (t.kind === 'continue') return t.base + t.text;
  if (t.resumed) return t.stored + t.text;
  return t.text;
}

async function onDone(t, f) {
  state.turn = null;
  const c = state.current;
  drawControls();
  if (!c || c.id !== t.conversationId) return;
  const m = c.messages.find((x) => x.id === t.messageId);
  if (t.resumed || f.status === 'unknown' || !m) {
    // A resumed turn (maybe ended long ago: status "unknown") or one this
    // page did not see whole: the stored message is the truth.
    await openConversation(c.id);
    return;
  }
  m.content = turnText(t);
  m.status = f.status;
  m.error = f.error || '';
  if (f.usage) m.usage = f.usage;
  m.output_tokens_counted = !!f.output_tokens_counted;
  redrawMetas();
  scrollToEnd(false);
  if (f.status === 'error') {
    showBanner('The answer failed: ' + (f.error || 'upstream error'), () => {
      const now = state.current && state.current.messages.find((x) => x.id === m.id);
      if (now) regenerate(now);
    });
  }
}

function onSocketError(t, f) {
  const msg = f.message || 'The request failed.';
  if (t && !t.turnId) {
    // The turn never started: take back the placeholder and offer a retry.
    state.turn = null;
    const c = state.current;
    if (t.kind === 'send') {
      for (const m of [t.message, t.user]) {
        const art = els.get(m.id);
        if (art) art.remove();
        c.messages = c.messages.filter((x) => x !== m);
      }
      if (!c.id && c.messages.length === 0) state.current = null;
      showBanner(msg, () => send(t.frame.text));
    } else {
      showBanner(msg, () => c && c.id && openConversation(c.id));
      if (c && c.id) openConversation(c.id);
    }
    drawControls();
    redrawMetas();
    return;
  }
  if (t && t.resumed) {
    // The turn is gone from the server's memory: show what was stored.
    state.turn = null;
    drawControls();
    if (state.current && state.current.id) openConversation(state.current.id);
    return;
  }
  showBanner(msg);
}

// ---- the composer ---------------------------------------------------------

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('input').value;
  if (!text.trim() || state.turn) return;
  $('input').value = '';
  grow();
  send(text);
});

$('input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $('composer').requestSubmit();
  }
});

function grow() {
  const ta = $('input');
  ta.style.height = 'auto';
  ta.style.height = Math.min(ta.scrollHeight + 2, 192) + 'px';
}
$('input').addEventListener('input', grow);

$('stop').addEventListener('click', () => {
  const t = state.turn;
  if (t && t.turnId) state.socket.send({ type: 'stop', turn_id: t.turnId });
});

function fillModels() {
  const sel = $('model');
  sel.replaceChildren();
  for (const m of state.config.models || []) {
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = m.display_name || m.id;
    sel.append(o);
  }
  sel.value = state.config.default_model || '';
}

$('model').addEventListener('change', () => patchCurrent({ model: $('model').value }));
$('prompt').addEventListener('change', () => patchCurrent({ prompt_id: $('prompt').value }));

async function patchCurrent(fields) {
  const c = state.current;
  if (!c) return;
  Object.assign(c, fields);
  if (!c.id) return; // sent with the first message
  try {
    const saved = await api('PATCH', '/api/conversations/' + encodeURIComponent(c.id), fields);
    Object.assign(c, { title: saved.title, model: saved.model, prompt_id: saved.prompt_id });
  } catch (e) {
    showBanner('Cannot save the change: ' + e.message, () => patchCurrent(fields));
  }
}

/** choosePrompt selects prompt id for the conversation on screen (prompts.js calls it). */
export function choosePrompt(id) {
  $('prompt').value = id;
  $('prompt').dispatchEvent(new Event('change'));
}

// ---- rename, delete, import -------------------------------------------------

/** ask shows a small dialog; resolves to the input's value, or null when cancelled. */
function ask(label, value, withInput = true) {
  const d = $('ask-dialog');
  $('ask-label').textContent = label;
  $('ask-input').hidden = !withInput;
  $('ask-input').value = value || '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok' ? $('ask-input').value : null), { once: true });
    d.returnValue = '';
    d.showModal();
    if (withInput) $('ask-input').select();
  });
}

$('rename').addEventListener('click', async () => {
  const c = state.current;
  if (!c || !c.id) return;
  const title = await ask('New title', c.title);
  if (title === null || !title.trim()) return;
  await patchCurrent({ title: title.trim() });
  $('title').textContent = c.title;
  const item = state.conversations.find((x) => x.id === c.id);
  if (item) item.title = c.title;
  drawConversations();
});

$('delete').addEventListener('click', async () => {
  const c = state.current;
  if (!c || !c.id) return;
  if ((await ask('Delete “' + (c.title || 'Untitled') + '”?', '', false)) === null) return;
  try {
    await api('DELETE', '/api/conversations/' + encodeURIComponent(c.id));
  } catch (e) {
    return showBanner('Cannot delete: ' + e.message);
  }
  state.conversations = state.conversations.filter((x) => x.id !== c.id);
  newChat();
});

$('import-file').addEventListener('change', async (ev) => {
  const file = ev.target.files[0];
  ev.target.value = '';
  if (!file) return;
  try {
    const res = await api('POST', '/api/import', await file.text());
    showBanner('Imported ' + ((res && res.imported) || 0) + ' conversation(s).');
    await loadConversations(false);
  } catch (e) {
    showBanner('Import failed: ' + e.message);
  }
});

// ---- banner ---------------------------------------------------------------

function showBanner(text, retry) {
  $('banner-text').textContent = text;
  state.retry = retry || null;
  $('banner-retry').hidden = !retry;
  $('banner').hidden = false;
}

function hideBanner() { $('banner').hidden = true; state.retry = null; }

$('banner-close').addEventListener('click', hideBanner);
$('banner-retry').addEventListener('click', () => {
  const r = state.retry;
  hideBanner();
  if (r) r();
});

// ---- phone drawer and the usage view ----------------------------------------

function openDrawer() { $('sidebar').classList.add('open'); $('scrim').hidden = false; $('menu').setAttribute('aria-expanded', 'true'); }
function closeDrawer() { $('sidebar').classList.remove('open'); $('scrim').hidden = true; $('menu').setAttribute('aria-expanded', 'false'); }
$('menu').addEventListener('click', openDrawer);
document.querySelector('[data-menu]').addEventListener('click', openDrawer);
$('scrim').addEventListener('click', closeDrawer);

function showChat() {
  if (location.pathname === '/usage') history.pushState(null, '', '/' + (state.current && state.current.id ? '#' + state.current.id : ''));
  $('usage').hidden = true;
  $('chat').hidden = false;
}

async function openUsage(push) {
  closeDrawer();
  if (push) history.pushState(null, '', '/usage');
  $('chat').hidden = true;
  $('usage').hidden = false;
  if (!$('usage-from').value) {
    const r = defaultRange();
    $('usage-from').value = r.from;
    $('usage-to').value = r.to;
  }
  try {
    await showUsage($('usage-from').value, $('usage-to').value);
  } catch (e) {
    showBanner('Cannot load the usage: ' + e.message, () => openUsage(false));
  }
}

$('open-usage').addEventListener('click', () => openUsage(true));
$('usage-close').addEventListener('click', () => { showChat(); route(); });
$('usage-from').addEventListener('change', () => openUsage(false));
$('usage-to').addEventListener('change', () => openUsage(false));

initPrompts(choosePrompt);
start();
