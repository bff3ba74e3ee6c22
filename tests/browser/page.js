// Headless Chromium on the page at `/` of `sockwire serve` (plain http on loopback): two
// tabs subscribe through the page's own STOMP client over WebSocket, one publishes and the
// other shows the message; the counters chart gets samples from /metrics; a third tab
// forced onto SockJS (`?transport=sockjs`) exchanges messages with a WebSocket tab, and a
// fourth whose WebSocket is refused falls back to SockJS on its own. No
// page error and no Content-Security-Policy violation may happen. Saves a screenshot.
// Prints "N passed, M failed" and exits non-zero on failure.
//
// Usage: node page.js http://127.0.0.1:PORT SCREENSHOT.png
'use strict';
const { chromium } = require('playwright-core');

const [base, screenshot] = process.argv.slice(2);
const results = [];
const problems = [];
const WAIT = { timeout: 10000 };

setTimeout(() => {
  console.error('page test: still running after 90 s');
  process.exit(1);
}, 90000).unref();

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

// A tab on the page, its errors and console complaints (CSP violations among them) kept.
async function open(context, name, query = '', before = async () => {}) {
  const page = await context.newPage();
  await before(page);
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) {
      problems.push(`${name}: console: ${m.text()} (${m.location().url})`);
    }
  });
  const response = await page.goto(`${base}/${query}`);
  if (!response.ok()) throw new Error(`${name}: GET / gave ${response.status()}`);
  return page;
}

// Waits until the tab's client is connected and its subscription confirmed by a RECEIPT.
async function ready(page, transport) {
  await page.waitForSelector('#status[data-state="connected"]', WAIT);
  await page.waitForSelector('#subscriptions li[data-state="subscribed"]', WAIT);
  const got = await page.getAttribute('#status', 'data-transport');
  return got === transport ? 'ok' : `connected over ${got}, not ${transport}`;
}

async function publish(page, body) {
  await page.fill('#pub-body', body);
  await page.click('#publish-form button');
}

async function arrives(page, body, destination = '/topic/demo') {
  await page.locator('#messages li.message .body', { hasText: body }).first().waitFor(WAIT);
  const dest = await page
    .locator('#messages li.message', { hasText: body })
    .first()
    .getAttribute('data-destination');
  return dest === destination ? 'ok' : `arrived from ${dest}`;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  const tag = Math.random().toString(36).slice(2, 8);
  let a;
  let b;
  let c;

  await check('the page loads in two tabs, each subscribed over WebSocket', async () => {
    a = await open(context, 'tab A');
    b = await open(context, 'tab B');
    const ra = await ready(a, 'WebSocket');
    return ra === 'ok' ? ready(b, 'WebSocket') : ra;
  });
  await check('the page lists the endpoints', async () => {
    const text = await a.textContent('#offers');
    const missing = ['/ws', '/stomp', '/echo', '/sockjs', '/metrics', '/health', '/stats'].filter(
      (p) => !text.includes(p));
    return missing.length ? `missing ${missing}` : 'ok';
  });
  await check('a message published in tab A appears in tab B', async () => {
    const body = `hello from tab A ${tag} ünïcödé ☃`;
    await publish(a, body);
    const r = await arrives(b, body);
    return r === 'ok' ? arrives(a, body) : r;
  });
  await check('a destination with a colon and a backslash goes through STOMP 1.2 header escaping', async () => {
    const destination = `/topic/esc:${tag}\\x`;
    await b.fill('#sub-dest', destination);
    await b.click('#subscribe-form button');
    await b.locator('#subscriptions li[data-state="subscribed"]', { hasText: destination }).waitFor(WAIT);
    await a.fill('#pub-dest', destination);
    const body = `escaped ${tag}`;
    await publish(a, body);
    const r = await arrives(b, body, destination);
    await a.fill('#pub-dest', '/topic/demo');
    return r;
  });
  await check('the counters chart has samples from /metrics', async () => {
    // The counters lag the delivery by up to a poll (one second). (A delivery to the
    // publishing session itself is not counted by the server: at least one, then.)
    await b.waitForFunction(
      () => Number(document.querySelector('#chart').dataset.samples) >= 3
        && Number(document.querySelector('#m-delivered-total').textContent) >= 1,
      null,
      WAIT,
    );
    const sessions = Number(await b.textContent('#m-sessions'));
    const published = Number(await b.textContent('#m-published-total'));
    const delivered = Number(await b.textContent('#m-delivered-total'));
    if (!(sessions >= 2)) return `sessions ${sessions}`;
    if (!(published >= 1 && delivered >= 1)) return `published ${published}, delivered ${delivered}`;
    const drawn = await b.evaluate(() => {
      const c = document.querySelector('#chart');
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
      return inked;
    });
    return drawn > 1000 ? 'ok' : `the chart has ${drawn} drawn pixels`;
  });
  await check('a tab forced onto SockJS subscribes over xhr-streaming', async () => {
    c = await open(context, 'tab C', '?transport=sockjs');
    return ready(c, 'SockJS xhr-streaming');
  });
  await check('a message published over SockJS appears in a WebSocket tab', async () => {
    const body = `hello over SockJS ${tag}: "quotes" \\ and a\nnew line`;
    await publish(c, body);
    return arrives(b, body.split('\n')[0]);
  });
  await check('a message published over WebSocket appears in the SockJS tab', async () => {
    const body = `hello to SockJS ${tag}`;
    await publish(b, body);
    return arrives(c, body);
  });
  await check('a tab whose WebSocket is closed before CONNECTED falls back to SockJS', async () => {
    const d = await open(context, 'tab D', '', (page) =>
      page.routeWebSocket(/\/ws$/, (ws) => ws.close({ code: 1011, reason: 'refused by the test' })));
    const r = await ready(d, 'SockJS xhr-streaming');
    if (r !== 'ok') return r;
    const body = `hello after the fallback ${tag}`;
    await publish(d, body);
    return arrives(a, body);
  });
  await check('no page errors and no policy violations', async () =>
    problems.length ? problems.join('; ') : 'ok');
  await check(`a screenshot is saved to ${screenshot}`, async () => {
    await b.waitForFunction(() => Number(document.querySelector('#chart').dataset.samples) >= 5, null, WAIT);
    await b.screenshot({ path: screenshot, fullPage: true });
    return 'ok';
  });
  await browser.close();

  const failed = results.filter((r) => !r).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
