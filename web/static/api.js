// The page's side of the chat contract: REST calls with the CSRF token, and
// one WebSocket that reconnects by itself and tells its listeners when it
// opened again (so they can resume their turns).

let csrf = '';

/** setCSRF sets the token sent with every state-changing request. */
export function setCSRF(token) { csrf = token || ''; }

/** APIError is a failed REST call: status and the server's message. */
export class APIError extends Error {
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

/** api calls the REST API; body is sent as JSON; the answer's JSON is returned (null for 204). */
export async function api(method, path, body) {
  try {
    return await call(method, path, body);
  } catch (e) {
    // The server restarted with a new secret: take a fresh token, once.
    if (method === 'GET' || e.status !== 403 || e.type !== 'permission_error') throw e;
    const me = await call('GET', '/api/me');
    setCSRF(me && me.csrf);
    return call(method, path, body);
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
  } catch (e) {
    throw new APIError(0, 'The server cannot be reached (' + e.message + ')', 'network');
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const err = data && data.error;
    throw new APIError(resp.status, (err && err.message) || resp.statusText || 'request failed', err && err.type);
  }
  return data;
}

// pingEvery is how often the page says something on a socket of API
// Gateway, whose connections close after 10 minutes without a frame from
// the client.
const pingEvery = 5 * 60 * 1000;

/**
 * Socket is the chat WebSocket: send() queues frames until it is open;
 * onmessage gets every parsed frame; onopen runs after each (re)connect.
 * With socketURL (the server's socket_url: API Gateway's WebSocket), each
 * (re)connect first gets a ticket from POST /api/socket-ticket and opens
 * socketURL with it, and a ping frame goes every 5 minutes; otherwise the
 * socket is /api/ws on this page's own host.
 */
export class Socket {
  constructor(socketURL) {
    this.socketURL = socketURL || '';
    this.queue = [];
    this.onmessage = () => {};
    this.onopen = () => {};
    this.onstate = () => {};
    this.delay = 250;
    this.closed = false;
    this.connect();
  }

  /** retry connects again after a backoff. */
  retry() {
    if (this.closed) return;
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  async connect() {
    let url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/ws';
    if (this.socketURL) {
      try {
        const t = await api('POST', '/api/socket-ticket');
        url = (t.url || this.socketURL) + '?ticket=' + encodeURIComponent(t.ticket);
      } catch {
        this.onstate(false);
        this.retry();
        return;
      }
      if (this.closed) return;
    }
    const ws = new WebSocket(url);
    this.ws = ws;
    let pinger = null;
    ws.onopen = () => {
      this.delay = 250;
      if (this.socketURL) {
        pinger = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}'); }, pingEvery);
      }
      this.onstate(true);
      this.onopen();
      const q = this.queue;
      this.queue = [];
      q.forEach((f) => ws.send(f));
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.onmessage(msg);
    };
    ws.onclose = () => {
      if (pinger) clearInterval(pinger);
      if (this.ws !== ws) return;
      this.onstate(false);
      this.retry();
    };
  }

  /** send sends one frame now, or when the socket is open again. */
  send(frame) {
    const data = JSON.stringify(frame);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
    else this.queue.push(data);
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
