// Headless Chromium against `sockwire serve --tls-cert --tls-key`: a page loaded over
// https:// from the server opens a WebSocket to wss:// and SockJS sessions over https://
// (websocket, xhr-streaming, xhr-polling, eventsource), and echoes messages. The browser
// trusts the test CA through the NSS database in $HOME/.pki/nssdb (made by run.sh with
// certutil), so certificate checks stay on; a browser without that database must refuse
// the page. Prints "N passed, M failed" and exits non-zero on failure.
//
// Usage: HOME=dir-with-nssdb node browser.js https://localhost:PORT EMPTY_HOME
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [base, untrustingHome] = process.argv.slice(2);
const sockjsBundle = path.join(__dirname, 'node_modules/sockjs-client/dist/sockjs.min.js');
const results = [];

function launch(home) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    env: { ...process.env, HOME: home },
  });
}

// In the page: a WebSocket echo over wss://.
function wssEcho(url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const sent = ['hello over wss', 'ünïcödé ☃', 'x'.repeat(70000)];
    const got = [];
    const timer = setTimeout(() => resolve(`timeout after ${got.length} echoes`), 10000);
    ws.onopen = () => sent.forEach((m) => ws.send(m));
    ws.onerror = () => resolve('WebSocket error');
    ws.onmessage = (e) => {
      got.push(e.data);
      if (got.length === sent.length) {
        clearTimeout(timer);
        ws.close();
        resolve(sent.every((m, i) => got[i] === m) ? 'ok' : 'echo differs');
      }
    };
  });
}

// In the page: a SockJS echo over https:// with one transport.
function sockjsEcho([url, transport]) {
  return new Promise((resolve) => {
    // eslint-disable-next-line no-undef
    const sock = new SockJS(url, null, { transports: [transport], timeout: 5000 });
    const sent = ['hello over https', 'needs "escaping" \\ \n'];
    const got = [];
    const timer = setTimeout(() => resolve(`timeout after ${got.length} echoes`), 10000);
    sock.onopen = () => {
      if (sock.transport !== transport) resolve(`opened with ${sock.transport}`);
      sent.forEach((m) => sock.send(m));
    };
    sock.onclose = (e) => resolve(`closed: ${e.code} ${e.reason}`);
    sock.onmessage = (e) => {
      got.push(e.data);
      if (got.length === sent.length) {
        clearTimeout(timer);
        sock.onclose = null;
        sock.close();
        resolve(sent.every((m, i) => got[i] === m) ? 'ok' : 'echo differs');
      }
    };
  });
}

async function check(name, run) {
  let outcome;
  try {
    outcome = await run();
  } catch (e) {
    outcome = String(e && e.message ? e.message.split('\n')[0] : e);
  }
  results.push(outcome === 'ok');
  console.log(`${outcome === 'ok' ? 'ok  ' : 'FAIL'} ${name}${outcome === 'ok' ? '' : `: ${outcome}`}`);
}

async function main() {
  const wss = base.replace(/^https:/, 'wss:');
  const browser = await launch(process.env.HOME);
  const page = await browser.newPage();
  await check('the page loads over https with the CA trusted', async () => {
    const response = await page.goto(`${base}/stats`);
    const protocol = await page.evaluate(() => location.protocol);
    if (!response.ok()) return `status ${response.status()}`;
    return protocol === 'https:' ? 'ok' : `protocol ${protocol}`;
  });
  await page.addScriptTag({ path: sockjsBundle });
  await check('WebSocket echo over wss://', () => page.evaluate(wssEcho, `${wss}/echo`));
  for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
    await check(`SockJS ${transport} over https://`, () =>
      page.evaluate(sockjsEcho, [`${base}/sockjs`, transport]));
  }
  await browser.close();

  // Without the CA in its NSS database the same browser must refuse the server.
  const untrusting = await launch(untrustingHome);
  await check('a browser without the CA refuses the server', async () => {
    const p = await untrusting.newPage();
    try {
      await p.goto(`${base}/stats`);
      return 'the page loaded';
    } catch (e) {
      return /ERR_CERT/.test(String(e)) ? 'ok' : String(e).split('\n')[0];
    }
  });
  await untrusting.close();

  const failed = results.filter((r) => !r).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
