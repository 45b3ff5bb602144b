// Two members of the chat example's room, each a page in its own browser
// context (load_page.mjs runs it in the same chromium): both connect over
// WebSocket, each says something through the page's form, and each must
// see both lines, in the order they were said; then one sends a message
// past the room's 1 MiB limit and must be closed with 1009 while the
// other stays connected. The console must stay free of errors.
export async function checkChat(browser, url, problems) {
  const lines = (page) => page.$$eval('#log p', (ps) => ps.map((p) => p.textContent));
  const contexts = [];
  const pages = [];
  for (const name of ['a', 'b']) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      // The oversized message's close is reported by the browser itself.
      if (m.type() === 'error' && !/1009|Max frame length/i.test(m.text()))
        problems.push(`chat ${name}: console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`chat ${name}: page error: ${e.message}`));
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
      problems.push(`chat page ${i}: the log shows ${JSON.stringify(got)}`);
  }
  await pages[0].evaluate(() => ws.send('x'.repeat(1024 * 1024 + 1)));
  await pages[0].waitForFunction(
    () => document.getElementById('state').textContent.startsWith('closed'), null,
    { timeout: 20000 });
  const state = await pages[0].textContent('#state');
  if (state !== 'closed (1009)') problems.push(`chat a: after the oversized message: "${state}"`);
  const other = await pages[1].textContent('#state');
  if (other !== 'connected') problems.push(`chat b: "${other}" after a was closed`);
  for (const context of contexts) await context.close();
  return `chat: both saw ${said.length} lines in order; the oversized message: ${state}`;
}
