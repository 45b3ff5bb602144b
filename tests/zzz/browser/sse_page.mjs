// The sse example's page in the browser (load_page.mjs runs it in the
// same chromium): its script opens EventSource('/events') and shows each
// event on the clock, keeping the count and the last id in the clock's
// data-events and data-last-id. At least three events must arrive, the
// last a time (ISO 8601, UTC, milliseconds) whose id is their count (no
// event lost or repeated), through a stream that came as
// text/event-stream, with no error in the console.
export async function checkSsePage(browser, url, problems) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  let streamType = null;
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/events') streamType = r.headers()['content-type'];
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`sse: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`sse: page error: ${e.message}`));
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  await page.waitForFunction(
    () => Number(document.getElementById('clock').dataset.events) >= 3,
    null,
    { timeout: 20000, polling: 50 },
  );
  const got = await page.evaluate(() => {
    const clock = document.getElementById('clock');
    return { events: Number(clock.dataset.events), lastId: clock.dataset.lastId, text: clock.textContent };
  });
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(got.text))
    problems.push(`sse: the clock shows "${got.text}", not a time`);
  if (got.lastId !== String(got.events))
    problems.push(`sse: the last id is ${got.lastId} after ${got.events} events`);
  if (streamType !== 'text/event-stream')
    problems.push(`sse: /events came as ${streamType}`);
  await context.close();
  return `sse: ${got.events} events, the last "${got.text}" with id ${got.lastId}`;
}
