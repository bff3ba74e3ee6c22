// sockjs-client, the reference SockJS client, against a sockwire SockJS echo endpoint:
// every transport that sockjs-client offers under Node (websocket, xhr-streaming,
// xhr-polling, eventsource), each opening a session, echoing messages that need JSON
// escaping, and closing. Prints "N passed, M failed" and exits non-zero on failure.
//
// Usage: node interop.js http://127.0.0.1:8080/sockjs
'use strict';
const SockJS = require('sockjs-client');

const url = process.argv[2];
const transports = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];
const messages = [
  'hello',
  'ünïcödé ☃ 😀',
  'needs escaping: " \\ \n \t \u0000 \u2028 \u2029 \ufeff \ud7ff',
  'x'.repeat(70000),
];

function run(transport) {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = new SockJS(url, null, { transports: [transport], timeout: 5000 });
    const got = [];
    let done = false;
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { sock.close(); } catch (e) { /* already closed */ }
      resolve({ transport, ok, why, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false, `timeout after ${got.length} echoes`), 15000);
    sock.onopen = () => {
      if (sock.transport !== transport) return finish(false, `opened with ${sock.transport}`);
      messages.forEach((m) => sock.send(m));
    };
    sock.onmessage = (e) => {
      got.push(e.data);
      if (got.length === messages.length) {
        const bad = messages.findIndex((m, i) => got[i] !== m);
        finish(bad < 0, bad < 0 ? 'echoed' : `message ${bad} differs`);
      }
    };
    sock.onclose = (e) => finish(false, `closed early: ${e.code} ${e.reason}`);
  });
}

(async () => {
  let passed = 0;
  let failed = 0;
  for (const t of transports) {
    const r = await run(t);
    console.log(`sockjs-client ${r.transport}: ${r.ok ? 'ok' : 'FAILED'} (${r.why}, ${r.ms} ms)`);
    if (r.ok) passed += 1; else failed += 1;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
