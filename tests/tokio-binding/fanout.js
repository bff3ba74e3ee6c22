// Deliveries between sessions on the tokio binding, with stomp.js (@stomp/stompjs) over
// plain WebSockets: alice and bob subscribe to /topic/broadcast; bob sends COUNT
// messages to the application's /app/broadcast, which republishes each to the topic.
// Bob's own copies are written by his session; alice's cross to her connection's task
// through its mailbox. Both must receive all of them, in order. Prints
// "N passed, M failed".
//
// Usage: node fanout.js http://127.0.0.1:9004
// (the npm packages are those of tests/sockjs-node: run `npm ci` there first)
'use strict';
const path = require('path');
const { createRequire } = require('module');

const modules = createRequire(path.join(__dirname, '..', 'sockjs-node', 'package.json'));
const { Client } = modules('@stomp/stompjs');
const WebSocket = modules('ws');

const base = process.argv[2];
if (!base) {
  console.error('usage: node fanout.js BASE_URL');
  process.exit(2);
}
const COUNT = 200;
const url = base.replace('http', 'ws') + '/ws';

/** A connected client of `login`, subscribed to /topic/broadcast, collecting bodies. */
function connect(login) {
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
      connectHeaders: { login },
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
    });
    const got = [];
    client.onConnect = () => {
      client.subscribe('/topic/broadcast', (m) => got.push(m.body), { receipt: `${login}-ready` });
      client.watchForReceipt(`${login}-ready`, () => resolve({ client, got }));
    };
    client.onStompError = (f) => reject(new Error(`${login}: ERROR ${f.headers.message}`));
    client.onWebSocketClose = (e) => reject(new Error(`${login}: closed ${e.code}`));
    client.activate();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const expected = Array.from({ length: COUNT }, (_, i) => `m${i}`);
  const [alice, bob] = await Promise.all([connect('alice'), connect('bob')]);
  for (const body of expected) {
    bob.client.publish({ destination: '/app/broadcast', body });
  }
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && (alice.got.length < COUNT || bob.got.length < COUNT)) {
    await sleep(20);
  }
  const results = [
    ['bob (his own session)', bob.got],
    ['alice (another session)', alice.got],
  ].map(([who, got]) => {
    const ok = got.length === COUNT && got.every((b, i) => b === expected[i]);
    console.log(`fanout ${who}: ${ok ? 'ok' : 'FAILED'} (${got.length} of ${COUNT}${ok ? ', in order' : ''})`);
    return ok;
  });
  alice.client.deactivate();
  bob.client.deactivate();
  const passed = results.filter((ok) => ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  return passed === results.length;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.log(`fanout: FAILED (${e.message})`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
