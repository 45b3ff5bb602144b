// Two members of the chat example's room, each a page in its own browser
// context of Debian's chromium (through playwright-core): both connect
// over WebSocket, each says something through the page's form, and each
// must see both lines, in the order they were said; then one sends a
// message past the room's 1 MiB limit and must be closed with 1009 while
// the other stays connected. The console must stay free of errors.
//
//   node chat.mjs URL
// Exits 0 when all of it held; else prints what was wrong, exits 1.
import { createRequire } from 'node:module';

const require = createRequire(process.env.PLAYWRIGHT_DIR + '/');
const { chromium } = require('playwright-core');

const [url] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const problems = [];
const lines = (page) => page.$$eval('#log p', (ps) => ps.map((p) => p.textContent));
try {
  const pages = [];
  for (const name of ['a', 'b']) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.on('console', (m) => {
      // The oversized message's close is reported by the browser itself.
      if (m.type() === 'error' && !/1009|Max frame length/i.test(m.text()))
        problems.push(`${name}: console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
    await page.goto(url, { waitUntil: 'load', timeout: 20000 });
    await page.waitForSelector('body[data-open="1"]', { timeout: 20000 });
    pages.push(page);
  }
  const said = ['hello from a', 'and from b, with ünïcödé ✓'];
  for (let i = 0; i < 2; i++) {
    await pages[i].fill('#text', said[i]);
    await pages[i].press('#text', 'Enter');
    // Each line reaches both before the next is said: a fixed order.
    for (const page of pages)
      await page.waitForSelector(`#log[data-received="${i + 1}"]`, { timeout: 20000 });
  }
  for (const [i, page] of pages.entries()) {
    const got = await lines(page);
    if (JSON.stringify(got) !== JSON.stringify(said))
      problems.push(`page ${i}: the log shows ${JSON.stringify(got)}`);
  }
  await pages[0].evaluate(() => ws.send('x'.repeat(1024 * 1024 + 1)));
  await pages[0].waitForFunction(
    () => document.getElementById('state').textContent.startsWith('closed'), null,
    { timeout: 20000 });
  const state = await pages[0].textContent('#state');
  if (state !== 'closed (1009)') problems.push(`a: after the oversized message: "${state}"`);
  const other = await pages[1].textContent('#state');
  if (other !== 'connected') problems.push(`b: "${other}" after a was closed`);
  console.log(`chat: both saw ${said.length} lines in order; the oversized message: ${state}`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.log(problems.join('\n'));
  process.exit(1);
}
