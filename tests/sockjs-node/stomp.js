// stomp.js (@stomp/stompjs), the STOMP client browsers use, against `sockwire serve`:
// over SockJS (sockjs-client, each transport it offers under Node) at /stomp and over
// a plain WebSocket at /ws. Each run subscribes, publishes to a topic and to the
// application's /app/echo, and checks what comes back. Prints "N passed, M failed".
//
// Usage: node stomp.js http://127.0.0.1:8080 [--only ws|sockjs]
//   --only ws      only the plain WebSocket run (/ws), for servers without SockJS
//   --only sockjs  only the SockJS runs (/stomp)
'use strict';
const { Client } = require('@stomp/stompjs');
const SockJS = require('sockjs-client');
const WebSocket = require('ws');

const base = process.argv[2];
const rest = process.argv.slice(3);
const only = rest[0] === '--only' ? rest[1] : undefined;
if (!base || (rest.length > 0 && !(rest.length === 2 && ['ws', 'sockjs'].includes(only)))) {
  console.error('usage: node stomp.js BASE_URL [--only ws|sockjs]');
  process.exit(2);
}
const runs = [
  { kind: 'ws', name: 'websocket /ws', factory: () => new WebSocket(base.replace('http', 'ws') + '/ws', ['v12.stomp']) },
  ...['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'].map((t) => ({
    kind: 'sockjs',
    name: `sockjs ${t} /stomp`,
    factory: () => new SockJS(base + '/stomp', null, { transports: [t] }),
  })),
].filter((r) => only === undefined || r.kind === only);

function run({ name, factory }) {
  return new Promise((resolve) => {
    const client = new Client({ webSocketFactory: factory, reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
    const body = `hello ${name} ☃ "quoted" \\ \u2028`;
    const seen = new Set();
    let done = false;
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.deactivate();
      resolve({ name, ok, why });
    };
    const timer = setTimeout(() => finish(false, `timeout, saw ${[...seen].join(',') || 'nothing'}`), 15000);
    const check = (what, m) => {
      if (m.body !== body) return finish(false, `${what} body differs: ${JSON.stringify(m.body)}`);
      seen.add(what);
      if (seen.has('topic') && seen.has('echo')) finish(true, 'topic and /app/echo delivered');
    };
    client.onConnect = (frame) => {
      if (frame.headers.version !== '1.2') return finish(false, `version ${frame.headers.version}`);
      client.subscribe('/topic/interop', (m) => check('topic', m));
      client.subscribe('/user/queue/echo', (m) => check('echo', m));
      // Receipts tell when the subscriptions are in place.
      client.watchForReceipt('ready', () => {
        client.publish({ destination: '/topic/interop', body });
        client.publish({ destination: '/app/echo', body });
      });
      client.publish({ destination: '/topic/none', body: 'x', headers: { receipt: 'ready' } });
    };
    client.onStompError = (f) => finish(false, `ERROR ${f.headers.message}`);
    client.onWebSocketClose = (e) => finish(false, `closed ${e.code}`);
    client.activate();
  });
}

(async () => {
  let passed = 0;
  let failed = 0;
  for (const r of runs) {
    const res = await run(r);
    console.log(`stomp.js ${res.name}: ${res.ok ? 'ok' : 'FAILED'} (${res.why})`);
    if (res.ok) passed += 1; else failed += 1;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
