// Nothing lost to a slow reader over SockJS: for each sockjs-client transport, a stomp.js
// consumer of a /queue that stalls now and then (its event loop blocked, so its transport
// is not read) gets every one of COUNT messages of 20 KB, in order and byte-exact, from a
// publisher on the plain WebSocket endpoint. Prints "N passed, M failed".
//
// eventsource gets at most 1,000 messages: sockjs-client waits 200 ms before it reopens
// an EventSource, and each response ends after 128 KiB (the SockJS streaming limit), so
// 20 KB messages cost it ~50 ms each, whatever the server does.
//
// Usage: node slow_reader.js http://127.0.0.1:8080 [COUNT]
'use strict';
const { Client } = require('@stomp/stompjs');
const SockJS = require('sockjs-client');
const WebSocket = require('ws');

const base = process.argv[2];
const count = Number(process.argv[3] || 10000);
if (!base || !(count > 0)) {
  console.error('usage: node slow_reader.js BASE_URL [COUNT]');
  process.exit(2);
}
const SIZE = 20 * 1024;
const transports = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];

// The body of message i: its number, then filler (with characters SockJS escapes).
function body(i) {
  const head = String(i).padStart(8, '0') + ':';
  const fill = 'abc"\\\u2028é'.repeat(Math.ceil(SIZE / 8));
  return (head + fill).slice(0, SIZE);
}

function connect(factory) {
  return new Promise((resolve, reject) => {
    const client = new Client({ webSocketFactory: factory, reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
    client.onConnect = () => resolve(client);
    client.onStompError = (f) => reject(new Error(`ERROR ${f.headers.message}`));
    client.onWebSocketClose = (e) => reject(new Error(`closed ${e.code}`));
    client.activate();
  });
}

function stall(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* the event loop does not read the transport */ }
}

async function run(transport) {
  const total = transport === 'eventsource' ? Math.min(count, 1000) : count;
  const queue = `/queue/slow-${transport}`;
  const reader = await connect(() => new SockJS(base + '/stomp', null, { transports: [transport] }));
  const publisher = await connect(() => new WebSocket(base.replace('http', 'ws') + '/ws', ['v12.stomp']));
  return new Promise((resolve) => {
    let next = 0;
    let done = false;
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reader.deactivate();
      publisher.deactivate();
      resolve({ transport, ok, why });
    };
    const timer = setTimeout(() => finish(false, `timeout after ${next} of ${total}`), 240000);
    reader.onStompError = (f) => finish(false, `ERROR ${f.headers.message} after ${next}`);
    reader.onWebSocketClose = (e) => finish(false, `closed ${e.code} after ${next}`);
    reader.subscribe(queue, (m) => {
      if (m.body !== body(next)) return finish(false, `message ${next} differs: ${m.body.slice(0, 12)}`);
      next += 1;
      if (next % 250 === 0) stall(300);
      if (next === total) finish(true, `${total} of ${total}, in order`);
    }, { receipt: 'subscribed' });
    reader.watchForReceipt('subscribed', () => {
      for (let i = 0; i < total; i += 1) publisher.publish({ destination: queue, body: body(i) });
    });
  });
}

(async () => {
  let passed = 0;
  let failed = 0;
  for (const t of transports) {
    let res;
    const started = Date.now();
    try {
      res = await run(t);
    } catch (e) {
      res = { transport: t, ok: false, why: e.message };
    }
    console.log(`slow reader over sockjs ${res.transport} (${((Date.now() - started) / 1000).toFixed(1)} s): ${res.ok ? 'ok' : 'FAILED'} (${res.why})`);
    if (res.ok) passed += 1; else failed += 1;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
