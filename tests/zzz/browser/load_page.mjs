// Loads a page of the fs example in Debian's chromium, driven through
// playwright-core, and checks what a user would see: every resource
// answered 200 with the type it needs (a style sheet or script of another
// type is refused under nosniff), no error in the console, and the line
// the page's script (app.js) writes once it has checked the style sheet,
// the picture and a JSON fetch. Each load gets a fresh browser context,
// so nothing comes from the browser's cache. With SSE_URL, the same
// browser then loads the sse example's page there (sse_page.mjs); with
// CHAT_URL, two members of the chat example's room talk (chat.mjs).
//
//   node load_page.mjs URL LOADS [SSE_URL [CHAT_URL]]
// Exits 0 when every load is right; else prints what was wrong, exits 1.
import { createRequire } from 'node:module';
import { checkChat } from './chat.mjs';
import { checkSsePage } from './sse_page.mjs';

const require = createRequire(process.env.PLAYWRIGHT_DIR + '/');
const { chromium } = require('playwright-core');

const [url, loadsArg, sseUrl, chatUrl] = process.argv.slice(2);
const loads = Number(loadsArg || 1);
const want = 'The script ran; style applied; picture shown; data read (application/json; charset=utf-8).';
const types = {
  '/': 'text/html; charset=utf-8',
  '/style.css': 'text/css; charset=utf-8',
  '/app.js': 'text/javascript; charset=utf-8',
  '/img/zzz.svg': 'image/svg+xml; charset=utf-8',
  '/data.json': 'application/json; charset=utf-8',
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const problems = [];
try {
  for (let load = 1; load <= loads; load++) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const seen = new Map();
    page.on('response', (r) => seen.set(new URL(r.url()).pathname, r));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`load ${load}: console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`load ${load}: page error: ${e.message}`));
    await page.goto(url, { waitUntil: 'load', timeout: 20000 });
    await page.waitForSelector('#checked.ran', { timeout: 20000 });
    const said = await page.textContent('#checked');
    if (said !== want) problems.push(`load ${load}: the page says "${said}"`);
    for (const [path, type] of Object.entries(types)) {
      const r = seen.get(path);
      if (!r) {
        problems.push(`load ${load}: ${path} was never fetched`);
        continue;
      }
      const got = r.headers()['content-type'];
      if (r.status() !== 200 || got !== type)
        problems.push(`load ${load}: ${path}: ${r.status()} ${got}, expected 200 ${type}`);
    }
    console.log(`load ${load}: ${said}`);
    await context.close();
  }
  if (sseUrl) console.log(await checkSsePage(browser, sseUrl, problems));
  if (chatUrl) console.log(await checkChat(browser, chatUrl, problems));
} finally {
  await browser.close();
}
if (problems.length) {
  console.log(problems.join('\n'));
  process.exit(1);
}
