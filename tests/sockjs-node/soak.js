// Soak: `sockwire serve --data-dir` under mixed traffic for a bounded time, restarted
// (SIGTERM, then SIGKILL) along the way. Queue consumers over every kind of transport
// (WebSocket, sockjs-client websocket / xhr-streaming / xhr-polling), some slow, ack
// each message; queue publishers send with receipts; a topic publisher feeds fast and
// slow topic subscribers. All clients reconnect after a restart.
//
// At the end it stops publishing, waits for the queue consumers to drain, and prints
// the figures: queue messages sent (receipted), delivered (distinct), redelivered,
// refused (ERRORs), lost (receipted, never delivered: must be 0); topic messages sent
// and delivered; peak server RSS. Exit status 1 when anything was lost.
//
// Usage: node soak.js SOCKWIRE_BINARY [SECONDS]
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Client } = require('@stomp/stompjs');
const SockJS = require('sockjs-client');
const WebSocket = require('ws');

const binary = process.argv[2];
const seconds = Number(process.argv[3] || 120);
if (!binary || !(seconds > 0)) {
  console.error('usage: node soak.js SOCKWIRE_BINARY [SECONDS]');
  process.exit(2);
}
const port = 19000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockwire-soak-'));
const QUEUE = '/queue/soak';
const TOPIC = '/topic/soak';

let server = null;
let peakRss = 0;
const figures = {
  queueSent: 0, queueConfirmed: new Set(), queueDelivered: new Set(), redelivered: 0,
  refused: {}, topicSent: 0, topicDelivered: 0, restarts: 0,
};

function startServer() {
  server = spawn(binary, ['serve', '--http', `127.0.0.1:${port}`, '--no-stomp-tcp',
    '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', () => {});
}

function sampleRss() {
  if (!server || server.exitCode !== null) return;
  try {
    const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const kib = Number((status.match(/VmRSS:\s+(\d+)/) || [])[1] || 0);
    peakRss = Math.max(peakRss, kib);
  } catch (e) { /* between restarts */ }
}

function restart(signal) {
  return new Promise((resolve) => {
    figures.restarts += 1;
    server.once('exit', () => { startServer(); setTimeout(resolve, 300); });
    server.kill(signal);
  });
}

const factories = {
  websocket: () => new WebSocket(base.replace('http', 'ws') + '/ws', ['v12.stomp']),
  'sockjs-websocket': () => new SockJS(base + '/stomp', null, { transports: ['websocket'] }),
  'xhr-streaming': () => new SockJS(base + '/stomp', null, { transports: ['xhr-streaming'] }),
  'xhr-polling': () => new SockJS(base + '/stomp', null, { transports: ['xhr-polling'] }),
};

function client(kind, onConnect) {
  const c = new Client({
    webSocketFactory: factories[kind], reconnectDelay: 300,
    heartbeatIncoming: 0, heartbeatOutgoing: 0, debug: () => {},
  });
  c.onConnect = () => onConnect(c);
  c.onStompError = (f) => {
    const m = f.headers.message || '?';
    figures.refused[m] = (figures.refused[m] || 0) + 1;
  };
  c.activate();
  return c;
}

// A queue consumer: acks each message, at once or after `delay` ms (a slow reader).
function consumer(kind, delay) {
  return client(kind, (c) => {
    c.subscribe(QUEUE, (m) => {
      const id = m.body.slice(0, 24);
      if (figures.queueDelivered.has(id)) figures.redelivered += 1;
      figures.queueDelivered.add(id);
      if (delay) setTimeout(() => { try { m.ack(); } catch (e) { /* reconnecting */ } }, delay);
      else m.ack();
    }, { ack: 'client-individual' });
  });
}

function topicSubscriber(kind, stallEvery) {
  let got = 0;
  return client(kind, (c) => {
    c.subscribe(TOPIC, () => {
      figures.topicDelivered += 1;
      got += 1;
      if (stallEvery && got % stallEvery === 0) {
        const until = Date.now() + 200;
        while (Date.now() < until) { /* a reader that stops reading */ }
      }
    });
  });
}

// A queue publisher: `perTick` messages with receipts every 20 ms while running.
function publisher(name, perTick) {
  let n = 0;
  let timer = null;
  const c = client('websocket', () => {});
  const tick = () => {
    if (!c.connected) return;
    for (let i = 0; i < perTick; i += 1) {
      const id = `${name}:${String(n).padStart(10, '0')}`.padEnd(24, '.');
      n += 1;
      const receipt = `r-${id}`;
      c.watchForReceipt(receipt, () => figures.queueConfirmed.add(id));
      try {
        c.publish({ destination: QUEUE, body: id + 'x'.repeat(200), headers: { receipt } });
        figures.queueSent += 1;
      } catch (e) { return; }
    }
  };
  return {
    start() { timer = setInterval(tick, 20); },
    stop() { clearInterval(timer); },
    client: c,
  };
}

function topicPublisher() {
  let timer = null;
  const c = client('websocket', () => {});
  return {
    start() {
      timer = setInterval(() => {
        if (!c.connected) return;
        for (let i = 0; i < 20; i += 1) {
          try { c.publish({ destination: TOPIC, body: 't'.repeat(512) }); figures.topicSent += 1; } catch (e) { return; }
        }
      }, 20);
    },
    stop() { clearInterval(timer); },
    client: c,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  startServer();
  await sleep(500);
  const rss = setInterval(sampleRss, 250);
  const clients = [
    consumer('websocket', 0), consumer('sockjs-websocket', 0),
    consumer('xhr-streaming', 5), consumer('xhr-polling', 20),
    topicSubscriber('websocket', 0), topicSubscriber('sockjs-websocket', 500),
    topicSubscriber('xhr-streaming', 0),
  ];
  const pubs = [publisher('p1', 5), publisher('p2', 5), topicPublisher()];
  await sleep(1000);
  pubs.forEach((p) => p.start());
  await sleep((seconds * 1000) / 3);
  await restart('SIGTERM');
  await sleep((seconds * 1000) / 3);
  await restart('SIGKILL');
  await sleep((seconds * 1000) / 3);
  pubs.forEach((p) => p.stop());
  // Drain: every receipted message should reach a consumer.
  const drainUntil = Date.now() + 60000;
  while (Date.now() < drainUntil) {
    const missing = [...figures.queueConfirmed].filter((id) => !figures.queueDelivered.has(id));
    if (missing.length === 0) break;
    await sleep(500);
  }
  clearInterval(rss);
  const lost = [...figures.queueConfirmed].filter((id) => !figures.queueDelivered.has(id));
  [...clients, ...pubs.map((p) => p.client)].forEach((c) => c.deactivate());
  server.kill('SIGTERM');
  const refused = Object.entries(figures.refused).map(([m, n]) => `${n}x "${m}"`).join(', ') || 'none';
  console.log('| figure | value |');
  console.log('| --- | --- |');
  console.log(`| run | ${seconds} s, ${figures.restarts} restarts (SIGTERM, SIGKILL) |`);
  console.log(`| queue messages sent | ${figures.queueSent} |`);
  console.log(`| queue messages confirmed (RECEIPT) | ${figures.queueConfirmed.size} |`);
  console.log(`| queue messages delivered (distinct) | ${figures.queueDelivered.size} |`);
  console.log(`| queue redeliveries (after restarts) | ${figures.redelivered} |`);
  console.log(`| ERRORs received | ${refused} |`);
  console.log(`| queue messages lost (confirmed, never delivered) | ${lost.length} |`);
  console.log(`| topic messages sent / deliveries | ${figures.topicSent} / ${figures.topicDelivered} |`);
  console.log(`| peak server RSS | ${(peakRss / 1024).toFixed(1)} MiB |`);
  if (lost.length) console.log(`lost, first: ${lost.slice(0, 5).join(' ')}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(lost.length === 0 && figures.queueConfirmed.size > 0 ? 0 : 1);
})();
