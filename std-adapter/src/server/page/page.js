// sockwire's page: a STOMP 1.2 client over WebSocket (/ws) or SockJS xhr-streaming
// (/stomp), a publish/subscribe demo on it, and a chart of counters from /metrics.
// Plain script, no dependencies: the server's Content-Security-Policy allows only itself.
'use strict';

(() => {
  const utf8 = new TextEncoder();

  // ---- STOMP 1.2 frames ----------------------------------------------------------------

  // Header escaping (STOMP 1.2): not applied in CONNECT and CONNECTED.
  const escapeHeader = (s) =>
    s.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/:/g, '\\c');
  const ESCAPES = { '\\': '\\', r: '\r', n: '\n', c: ':' };
  const unescapeHeader = (s) =>
    s.replace(/\\(.?)/g, (all, c) => {
      if (!(c in ESCAPES)) throw new Error(`undefined escape ${all} in a header`);
      return ESCAPES[c];
    });

  // A frame as text: the body's length in bytes as content-length, then NUL.
  function encodeFrame(command, headers, body = '') {
    const raw = command === 'CONNECT';
    let head = command + '\n';
    for (const [name, value] of headers) {
      head += raw ? `${name}:${value}\n` : `${escapeHeader(name)}:${escapeHeader(String(value))}\n`;
    }
    if (body) head += `content-length:${utf8.encode(body).length}\n`;
    return head + '\n' + body + '\0';
  }

  const MAX_FRAME = 1 << 20;

  // Frames from bytes that arrive in any pieces: heart-beats (EOLs) between frames,
  // content-length when present, else the body ends at the first NUL.
  class FrameParser {
    constructor() { this.buf = new Uint8Array(0); }

    push(chunk) {
      const joined = new Uint8Array(this.buf.length + chunk.length);
      joined.set(this.buf);
      joined.set(chunk, this.buf.length);
      this.buf = joined;
      const frames = [];
      for (;;) {
        let start = 0;
        while (start < this.buf.length && (this.buf[start] === 10 || this.buf[start] === 13)) start++;
        this.buf = this.buf.subarray(start);
        const frame = this.next();
        if (!frame) break;
        frames.push(frame);
      }
      if (this.buf.length > MAX_FRAME) throw new Error('frame larger than 1 MiB');
      return frames;
    }

    next() {
      const b = this.buf;
      let headEnd = -1;
      let bodyStart = -1;
      for (let i = 0; i < b.length; i++) {
        if (b[i] !== 10) continue;
        if (i + 1 >= b.length) return null;
        if (b[i + 1] === 10) { headEnd = i; bodyStart = i + 2; break; }
        if (b[i + 1] === 13) {
          if (i + 2 >= b.length) return null;
          if (b[i + 2] === 10) { headEnd = i; bodyStart = i + 3; break; }
        }
      }
      if (headEnd < 0) return null;
      const lines = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, headEnd)).split(/\r?\n/);
      const command = lines.shift();
      const raw = command === 'CONNECTED';
      const headers = new Map();
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon < 0) throw new Error(`header line without a colon: ${line}`);
        const name = raw ? line.slice(0, colon) : unescapeHeader(line.slice(0, colon));
        const value = raw ? line.slice(colon + 1) : unescapeHeader(line.slice(colon + 1));
        if (!headers.has(name)) headers.set(name, value); // the first one counts
      }
      let bodyEnd;
      const length = headers.get('content-length');
      if (length !== undefined) {
        if (!/^\d{1,9}$/.test(length)) throw new Error(`bad content-length ${length}`);
        bodyEnd = bodyStart + Number(length);
        if (bodyEnd >= b.length) return null;
        if (b[bodyEnd] !== 0) throw new Error('no NUL after the body');
      } else {
        bodyEnd = b.indexOf(0, bodyStart);
        if (bodyEnd < 0) return null;
      }
      const body = new TextDecoder().decode(b.subarray(bodyStart, bodyEnd));
      this.buf = b.subarray(bodyEnd + 1);
      return { command, headers, body };
    }
  }

  // ---- Transports: { name, send(text), close(), onopen, onmessage(text | ArrayBuffer), onclose({code, reason}) }

  function webSocketTransport(url) {
    const ws = new WebSocket(url, ['v12.stomp']);
    ws.binaryType = 'arraybuffer';
    const t = { name: 'WebSocket', send: (s) => ws.send(s), close: () => ws.close() };
    ws.onopen = () => t.onopen();
    ws.onmessage = (e) => t.onmessage(e.data);
    ws.onclose = (e) => t.onclose({ code: e.code, reason: e.reason || 'WebSocket closed' });
    return t;
  }

  // SockJS (protocol 0.3) over xhr-streaming, with fetch: one long POST reads frames
  // (o, h, a[...], c[code,"reason"]), one line each; sends are POSTs of a JSON array,
  // one at a time, batched while one is in flight.
  function sockJsTransport(base) {
    const server = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
    const session = Array.from(crypto.getRandomValues(new Uint8Array(8)), (x) => (x % 36).toString(36)).join('');
    const url = `${base}/${server}/${session}`;
    let closed = false;
    let queue = [];
    let sending = false;
    const t = { name: 'SockJS xhr-streaming' };

    const finish = (code, reason) => {
      if (closed) return;
      closed = true;
      t.onclose({ code, reason });
    };

    const onLine = (line) => {
      if (/^h*$/.test(line)) return; // the prelude and heart-beats
      const kind = line[0];
      if (kind === 'o') t.onopen();
      else if (kind === 'a') for (const m of JSON.parse(line.slice(1))) t.onmessage(m);
      else if (kind === 'c') {
        const [code, reason] = JSON.parse(line.slice(1));
        finish(code, reason);
      } else throw new Error(`unknown SockJS frame ${line.slice(0, 20)}`);
    };

    const stream = async () => {
      while (!closed) {
        let res;
        try {
          res = await fetch(`${url}/xhr_streaming`, { method: 'POST', cache: 'no-store' });
        } catch (e) {
          return finish(1006, 'xhr_streaming failed');
        }
        if (!res.ok || !res.body) return finish(1006, `xhr_streaming: HTTP ${res.status}`);
        const reader = res.body.getReader();
        const text = new TextDecoder();
        let pending = '';
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            pending += text.decode(value, { stream: true });
            let nl;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              onLine(line);
              if (closed) { reader.cancel(); return; }
            }
          }
        } catch (e) {
          return finish(1006, `xhr_streaming: ${e.message}`);
        }
        // The stream reached its byte limit: the session goes on in a new request.
      }
    };

    const flush = async () => {
      if (sending || closed || queue.length === 0) return;
      sending = true;
      const batch = queue;
      queue = [];
      try {
        const res = await fetch(`${url}/xhr_send`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          body: JSON.stringify(batch),
        });
        if (!res.ok) finish(1006, `xhr_send: HTTP ${res.status}`);
      } catch (e) {
        finish(1006, 'xhr_send failed');
      }
      sending = false;
      flush();
    };

    t.send = (s) => { queue.push(s); flush(); };
    t.close = () => finish(1000, 'closed by the page');
    stream();
    return t;
  }

  // ---- STOMP client ----------------------------------------------------------------------

  const HEARTBEAT_MS = 10000;

  class StompClient {
    constructor(transport, on) {
      this.t = transport;
      this.on = on;
      this.parser = new FrameParser();
      this.nextId = 0;
      this.receipts = new Map();
      this.subscriptions = new Map();
      this.connected = false;
      this.timers = [];
      this.lastHeard = Date.now();
      transport.onopen = () =>
        this.t.send(encodeFrame('CONNECT', [
          ['accept-version', '1.2'],
          ['host', location.hostname],
          ['heart-beat', `${HEARTBEAT_MS},${HEARTBEAT_MS}`],
        ]));
      transport.onmessage = (data) => this.received(data);
      transport.onclose = (e) => this.closed(e);
    }

    received(data) {
      this.lastHeard = Date.now();
      let frames;
      try {
        frames = this.parser.push(typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data));
      } catch (e) {
        this.fail(`bad frame from the server: ${e.message}`);
        return;
      }
      for (const f of frames) this.frame(f);
    }

    frame(f) {
      switch (f.command) {
        case 'CONNECTED': {
          this.connected = true;
          this.heartBeats(f.headers.get('heart-beat') || '0,0');
          this.on.connected(f.headers);
          break;
        }
        case 'MESSAGE': {
          const handler = this.subscriptions.get(f.headers.get('subscription'));
          if (handler) handler(f);
          break;
        }
        case 'RECEIPT': {
          const id = f.headers.get('receipt-id');
          const done = this.receipts.get(id);
          this.receipts.delete(id);
          if (done) done();
          break;
        }
        case 'ERROR':
          this.on.error(f.headers.get('message') || 'ERROR', f.body);
          break;
        default:
          this.fail(`unexpected ${f.command} frame`);
      }
    }

    // The server's "sx,sy" against ours: we send every max(ours, sy), expect every max(sx, ours).
    heartBeats(header) {
      const [sx, sy] = header.split(',').map((n) => Number(n) || 0);
      if (sy > 0) this.timers.push(setInterval(() => this.t.send('\n'), Math.max(HEARTBEAT_MS, sy)));
      if (sx > 0) {
        const limit = 2 * Math.max(HEARTBEAT_MS, sx);
        this.timers.push(setInterval(() => {
          if (Date.now() - this.lastHeard > limit) this.fail('the server went silent');
        }, limit / 2));
      }
    }

    command(command, headers, body, onReceipt) {
      if (onReceipt) {
        const receipt = `r-${this.nextId++}`;
        this.receipts.set(receipt, onReceipt);
        headers.push(['receipt', receipt]);
      }
      this.t.send(encodeFrame(command, headers, body));
    }

    subscribe(destination, onMessage, onReceipt) {
      const id = `sub-${this.nextId++}`;
      this.subscriptions.set(id, onMessage);
      this.command('SUBSCRIBE', [['id', id], ['destination', destination], ['ack', 'auto']], '', onReceipt);
      return id;
    }

    unsubscribe(id) {
      this.subscriptions.delete(id);
      this.command('UNSUBSCRIBE', [['id', id]]);
    }

    send(destination, body, onReceipt) {
      this.command('SEND', [['destination', destination], ['content-type', 'text/plain;charset=utf-8']], body, onReceipt);
    }

    fail(reason) {
      this.on.error(reason, '');
      this.t.close();
    }

    closed(e) {
      this.timers.forEach(clearInterval);
      this.timers = [];
      const was = this.connected;
      this.connected = false;
      this.on.closed(e, was);
    }
  }

  // ---- The demo --------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const statusLine = $('status');
  const messages = $('messages');
  const chips = $('subscriptions');
  const params = new URLSearchParams(location.search);
  const wanted = params.get('transport'); // websocket, sockjs, or either
  let client = null;

  const setStatus = (state, text, transport) => {
    statusLine.dataset.state = state;
    if (transport) statusLine.dataset.transport = transport;
    statusLine.textContent = text;
    for (const b of document.querySelectorAll('#demo button')) b.disabled = state !== 'connected';
  };

  const note = (text, kind = 'note') => {
    const li = document.createElement('li');
    li.className = kind;
    li.textContent = text;
    messages.prepend(li);
  };

  const showMessage = (f) => {
    const li = document.createElement('li');
    li.className = 'message';
    li.dataset.destination = f.headers.get('destination') || '';
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${new Date().toLocaleTimeString()} · ${li.dataset.destination}`;
    const body = document.createElement('span');
    body.className = 'body';
    body.textContent = f.body;
    li.append(meta, body);
    messages.prepend(li);
    while (messages.children.length > 200) messages.lastChild.remove();
  };

  const subscribe = (destination) => {
    const li = document.createElement('li');
    li.dataset.state = 'pending';
    li.dataset.destination = destination;
    li.textContent = destination;
    const id = client.subscribe(destination, showMessage, () => { li.dataset.state = 'subscribed'; });
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = '×';
    remove.title = `unsubscribe from ${destination}`;
    remove.onclick = () => { client.unsubscribe(id); li.remove(); };
    li.append(remove);
    chips.append(li);
  };

  const start = (transport, fallBack) => {
    setStatus('connecting', `connecting over ${transport.name}…`, transport.name);
    const c = new StompClient(transport, {
      connected: (headers) => {
        clearTimeout(deadline);
        setStatus('connected', `connected over ${transport.name} as ${headers.get('user-name') || 'anonymous'} (STOMP ${headers.get('version') || '1.0'})`, transport.name);
        chips.replaceChildren();
        subscribe($('sub-dest').value);
      },
      error: (message, body) => note(`error: ${message}${body ? ` (${body})` : ''}`, 'error'),
      closed: (e, wasConnected) => {
        clearTimeout(deadline);
        if (client !== c) return;
        if (!wasConnected && fallBack) {
          note(`${transport.name} did not connect (${e.reason}); falling back to SockJS`);
          start(sockJsTransport(`${location.origin}/stomp`), null);
          return;
        }
        setStatus('closed', `disconnected: ${e.reason} (${e.code}). Reload to connect again.`, transport.name);
      },
    });
    client = c;
    // A WebSocket that neither fails nor connects (a proxy swallowing the upgrade).
    const deadline = setTimeout(() => { if (!c.connected) transport.close(); }, 5000);
  };

  $('subscribe-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (client && client.connected) subscribe($('sub-dest').value);
  });
  $('publish-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('pub-body');
    if (!client || !client.connected) return;
    client.send($('pub-dest').value, input.value || 'hello');
    input.value = '';
  });

  const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
  if (wanted === 'sockjs') start(sockJsTransport(`${location.origin}/stomp`), false);
  else start(webSocketTransport(wsUrl), wanted !== 'websocket');

  // ---- Counters from /metrics -----------------------------------------------------------

  const canvas = $('chart');
  const KEEP = 90;
  const samples = []; // { sessions, published, delivered } with rates per second
  let previous = null;

  // Sums of every series of a few metrics in the text exposition format.
  const parseMetrics = (text) => {
    const sums = {};
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const v = Number(m[2]);
      if (Number.isFinite(v)) sums[m[1]] = (sums[m[1]] || 0) + v;
    }
    return sums;
  };

  const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();

  const draw = () => {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g = canvas.getContext('2d');
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    const pad = { l: 36, r: 8, t: 8, b: 18 };
    let top = 1;
    for (const s of samples) top = Math.max(top, s.sessions, s.published, s.delivered);
    // Four grid steps of 1, 2 or 5 times a power of ten.
    const power = 10 ** Math.floor(Math.log10(top / 4));
    const tick = [1, 2, 5, 10].map((m) => m * power).find((t) => 4 * t >= top);
    const max = 4 * tick;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#5b6475';
    g.strokeStyle = '#e6e9ef';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + ((h - pad.t - pad.b) * i) / 4;
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(w - pad.r, y); g.stroke();
      const label = tick * (4 - i);
      g.fillText(Number.isInteger(label) ? String(label) : String(Number(label.toPrecision(2))), 4, y + 4);
    }
    g.fillText(`last ${KEEP} s`, pad.l, h - 4);
    const x = (i) => pad.l + ((w - pad.l - pad.r) * i) / (KEEP - 1);
    const y = (v) => h - pad.b - ((h - pad.t - pad.b) * v) / max;
    const offset = KEEP - samples.length;
    for (const key of ['sessions', 'published', 'delivered']) {
      g.strokeStyle = color(key);
      g.lineWidth = 2;
      g.beginPath();
      samples.forEach((s, i) => (i ? g.lineTo(x(offset + i), y(s[key])) : g.moveTo(x(offset + i), y(s[key]))));
      g.stroke();
    }
  };

  const poll = async () => {
    try {
      const res = await fetch('/metrics', { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const m = parseMetrics(await res.text());
      const now = performance.now();
      const current = {
        at: now,
        sessions: m.sockwire_sessions || 0,
        published: m.sockwire_stomp_messages_published_total || 0,
        delivered: m.sockwire_stomp_messages_delivered_total || 0,
      };
      if (previous) {
        const dt = Math.max((now - previous.at) / 1000, 0.001);
        samples.push({
          sessions: current.sessions,
          published: Math.max(0, current.published - previous.published) / dt,
          delivered: Math.max(0, current.delivered - previous.delivered) / dt,
        });
        if (samples.length > KEEP) samples.shift();
        const last = samples[samples.length - 1];
        $('m-published').textContent = last.published.toFixed(1);
        $('m-delivered').textContent = last.delivered.toFixed(1);
      }
      previous = current;
      $('m-sessions').textContent = String(current.sessions);
      $('m-published-total').textContent = String(current.published);
      $('m-delivered-total').textContent = String(current.delivered);
      canvas.dataset.samples = String(samples.length);
      $('metrics-status').textContent = `from /metrics, every second · updated ${new Date().toLocaleTimeString()}`;
      draw();
    } catch (e) {
      $('metrics-status').textContent = `/metrics: ${e.message}`;
    }
  };
  poll();
  setInterval(poll, 1000);
  window.addEventListener('resize', draw);
})();
