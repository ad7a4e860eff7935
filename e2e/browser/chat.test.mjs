// The chat page in headless Chromium against a local-mode server (no
// login): streaming, Stop, reload mid-stream, Markdown, inert output,
// history, saved prompts, phone width.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, ask, lastAnswer, answerDone, answerText, unique, shot, chatURL } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function fresh(viewport) {
  const page = await open(browser, chatURL, viewport);
  await ready(page);
  return page;
}

test('the answer streams into the page progressively', async () => {
  const page = await fresh();
  const marker = unique('progressive');
  await ask(page, `Count with me ${marker} [[slow=30]] [[words=60]]`);
  const lengths = [];
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const status = await lastAnswer(page).getAttribute('data-status').catch(() => null);
    if (status && status !== 'streaming') break;
    const len = (await answerText(page).catch(() => '')).length;
    if (len > 0 && len !== lengths[lengths.length - 1]) lengths.push(len);
    await page.waitForTimeout(40);
  }
  assert.equal(await answerDone(page), 'complete');
  const final = await answerText(page);
  assert.match(final, new RegExp(marker));
  assert.ok(lengths.length >= 4, `the text grew ${lengths.length} times (${lengths}); want a progressive stream`);
  for (let i = 1; i < lengths.length; i++) assert.ok(lengths[i] > lengths[i - 1], `the text shrank: ${lengths}`);
  assert.ok(lengths[0] < final.length, 'the first rendering was already the whole answer');
  // The Stop button shows only while streaming.
  assert.equal(await page.locator('#stop').isVisible(), false);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('Stop keeps the partial answer, marked stopped, across a reload', async () => {
  const page = await fresh();
  const marker = unique('stop');
  await ask(page, `Tell me a long story ${marker} [[slow=60]] [[words=400]]`);
  await page.locator('#stop').waitFor({ state: 'visible' });
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a && a.querySelector('.body').innerText.length > 40;
  });
  const stoppedAt = Date.now();
  await page.locator('#stop').click();
  assert.equal(await answerDone(page, 5000), 'stopped');
  assert.ok(Date.now() - stoppedAt < 3000, 'the stop took too long');
  const partial = await answerText(page);
  assert.ok(partial.length > 40 && partial.split(/\s+/).length < 400, `partial answer: ${partial.length} chars`);
  assert.ok(await lastAnswer(page).locator('button[data-action="continue"]').isVisible(), 'no Continue button');
  // Its output tokens were counted from its text, and the page says so.
  assert.match(await lastAnswer(page).locator('.meta').innerText(), /\d+ out \(counted\)/);

  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'stopped');
  assert.equal((await answerText(page)).trim(), partial.trim());
  assert.match(await lastAnswer(page).locator('.status').innerText(), /stopped/);

  // Continue appends to the same message.
  const before = await lastAnswer(page).getAttribute('data-id');
  await lastAnswer(page).locator('button[data-action="continue"]').click();
  await page.locator('#stop').waitFor({ state: 'visible' });
  await page.waitForFunction((n) => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a.querySelector('.body').innerText.length > n + 20;
  }, partial.length);
  await page.locator('#stop').click();
  assert.equal(await answerDone(page), 'stopped');
  assert.equal(await lastAnswer(page).getAttribute('data-id'), before);
  assert.ok((await answerText(page)).startsWith(partial.trim().slice(0, 40)));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a reload in the middle of an answer resumes the same answer', async () => {
  const page = await fresh();
  const marker = unique('resume');
  await ask(page, `Explain slowly ${marker} [[slow=40]] [[words=120]]`);
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a && a.querySelector('.body').innerText.length > 30;
  });
  const partial = await answerText(page);
  const id = await lastAnswer(page).getAttribute('data-id');
  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  assert.equal(await lastAnswer(page).getAttribute('data-id'), id, 'a different message after the reload');
  // The answer goes on streaming in the reloaded page (replay, then live).
  const seenStreaming = (await lastAnswer(page).getAttribute('data-status')) === 'streaming';
  assert.equal(await answerDone(page), 'complete');
  const final = await answerText(page);
  assert.ok(seenStreaming, 'the reloaded page did not show the answer as still streaming');
  assert.ok(final.startsWith(partial.trim().slice(0, 30)), `final ${JSON.stringify(final.slice(0, 60))} does not continue ${JSON.stringify(partial.slice(0, 60))}`);
  assert.equal(final.split(/\s+/).filter(Boolean).length, 120, 'the resumed answer is not whole');
  // And the stored answer is that same text.
  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  assert.equal((await answerText(page)).trim(), final.trim());
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('Markdown renders, with highlighted code blocks and a Copy button', async () => {
  const page = await fresh();
  const marker = unique('markdown');
  const question = [
    `# Heading ${marker}`,
    '',
    'Some **bold**, *emphasis* and `inline code`, a [link](https://example.com/docs).',
    '',
    '- first item',
    '- second item',
    '',
    '```go',
    'func main() { fmt.Println("hi") } // greet',
    '```',
  ].join('\n');
  await ask(page, question);
  assert.equal(await answerDone(page), 'complete');
  const user = page.locator('article.msg[data-role="user"]').last();
  // The question as the page shows it (the same renderer as the answers).
  assert.equal(await user.locator('h1').innerText(), `Heading ${marker}`);
  assert.equal(await user.locator('strong').first().innerText(), 'bold');
  assert.equal(await user.locator('em').first().innerText(), 'emphasis');
  assert.equal(await user.locator('li').count(), 2);
  assert.equal(await user.locator('a').getAttribute('href'), 'https://example.com/docs');
  const block = user.locator('.codeblock');
  assert.equal(await block.count(), 1);
  assert.ok(await block.locator('button.copy').isVisible());
  assert.ok(await block.locator('span.tok-k').count() >= 1, 'no keyword highlighted');
  assert.ok(await block.locator('span.tok-s').count() >= 1, 'no string highlighted');
  assert.ok(await block.locator('span.tok-c').count() >= 1, 'no comment highlighted');
  assert.equal(await block.locator('code').innerText(), 'func main() { fmt.Println("hi") } // greet');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await block.locator('button.copy').click();
  await page.waitForFunction(() => document.querySelector('article.msg[data-role="user"]:last-of-type button.copy, button.copy').textContent !== 'Copy');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'func main() { fmt.Println("hi") } // greet');
  // The answer quotes the question (on one line): its inline Markdown renders too.
  const answer = lastAnswer(page);
  assert.ok(await answer.locator('strong').count() >= 1, 'no bold in the answer');
  assert.ok(await answer.locator('code').count() >= 1, 'no code in the answer');
  assert.equal(await answer.locator('a[href="https://example.com/docs"]').count(), 1);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('script, event handlers and javascript: links in input and output stay inert', async () => {
  const page = await fresh();
  const marker = unique('xss');
  const payloads = [
    '<script>window.__pwned = "script"</script>',
    '<img src=x onerror=window.__pwned=1>',
    '[click me](javascript:window.__pwned=2)',
    '<a href=javascript:window.__pwned=3>a</a>',
    '[data](data:text/html,<script>window.__pwned=4</script>)',
    '<svg onload=window.__pwned=5></svg>',
  ];
  await ask(page, `${marker} ${payloads.join(' ')}`);
  assert.equal(await answerDone(page), 'complete');
  await page.waitForTimeout(300);
  for (const scope of ['article.msg[data-role="user"]', 'article.msg[data-role="assistant"]']) {
    const msg = page.locator(scope).last();
    assert.match(await msg.innerText(), /<script>/, `${scope} should show the tag as text`);
    assert.equal(await msg.locator('script, img, svg, iframe, object, embed').count(), 0, `${scope} holds an element from the text`);
    const bad = await msg.evaluate((el) => [...el.querySelectorAll('*')].flatMap((n) =>
      [...n.attributes].filter((a) => /^on/i.test(a.name) || /^\s*(javascript|data|vbscript):/i.test(a.value)).map((a) => n.tagName + ' ' + a.name)));
    assert.deepEqual(bad, [], `${scope}: dangerous attributes`);
    const hrefs = await msg.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const h of hrefs) assert.match(h, /^(https?:|mailto:)/, `unsafe link ${h}`);
  }
  // Clicking what was the javascript: link does nothing either.
  const fake = page.locator('article.msg[data-role="assistant"]').last().getByText('click me');
  if (await fake.count()) await fake.first().click();
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  // The page is served with a strict policy.
  const resp = await page.request.get(chatURL);
  assert.match(resp.headers()['content-security-policy'] || '', /script-src 'self'/);
  await page.context().close();
});

test('history is listed after a fresh load, newest first, and opens', async () => {
  let page = await fresh();
  const first = unique('history-a');
  const second = unique('history-b');
  await ask(page, `First topic ${first}`);
  await answerDone(page);
  await page.locator('#new-chat').click();
  await ask(page, `Second topic ${second}`);
  await answerDone(page);
  await page.context().close();

  page = await fresh();
  const items = page.locator('#conversations a');
  await items.first().waitFor();
  const titles = await items.allInnerTexts();
  const a = titles.findIndex((t) => t.includes(first));
  const b = titles.findIndex((t) => t.includes(second));
  assert.ok(a >= 0 && b >= 0, `both conversations listed: ${titles.slice(0, 5)}`);
  assert.ok(b < a, 'the newest conversation is first');
  await items.nth(a).click();
  await page.locator('article.msg[data-role="user"]').first().waitFor();
  assert.match(await page.locator('article.msg[data-role="user"]').first().innerText(), new RegExp(first));
  assert.equal(await page.locator('article.msg[data-role="assistant"]').count(), 1);
  assert.match(await page.locator('#title').innerText(), new RegExp(first));

  // Rename shows in the list; delete removes it.
  await page.locator('#rename').click();
  await page.locator('#ask-input').fill(`Renamed ${first}`);
  await page.locator('#ask-ok').click();
  await page.locator('#conversations a', { hasText: `Renamed ${first}` }).waitFor();
  await page.reload();
  await ready(page);
  await page.locator('#conversations a', { hasText: `Renamed ${first}` }).waitFor();
  await page.locator('#conversations a', { hasText: `Renamed ${first}` }).click();
  await page.locator('#title', { hasText: `Renamed ${first}` }).waitFor();
  await page.locator('#delete').click();
  await page.locator('#ask-ok').click();
  await page.waitForFunction((m) => ![...document.querySelectorAll('#conversations a')].some((x) => x.textContent.includes(m)), first);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a saved prompt is created, chosen for a conversation, edited and deleted', async () => {
  const page = await fresh();
  const name = unique('prompt');
  await page.locator('#open-prompts').click();
  await page.locator('#prompt-name').fill(name);
  await page.locator('#prompt-text').fill('You are terse.');
  await page.locator('#prompt-save').click();
  const row = page.locator('#prompt-list li', { hasText: name });
  await row.waitFor();
  await row.locator('button[data-action="use"]').click();
  assert.equal(await page.locator('#prompt option:checked').innerText(), name);
  const marker = unique('with-prompt');
  await ask(page, `Hello ${marker}`);
  assert.equal(await answerDone(page), 'complete');
  // The conversation keeps its prompt across a reload.
  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  await page.waitForFunction((n) => document.querySelector('#prompt option:checked')?.textContent === n, name);
  const conv = await page.evaluate(async () => {
    const r = await fetch('/api/conversations/' + location.hash.slice(1));
    return r.json();
  });
  assert.ok(conv.prompt_id, 'the conversation has no prompt');
  const prompt = await page.evaluate(async (id) => (await fetch('/api/prompts/' + id)).json(), conv.prompt_id);
  assert.equal(prompt.name, name);
  assert.equal(prompt.text, 'You are terse.');

  await page.locator('#open-prompts').click();
  await row.locator('button[data-action="edit"]').click();
  await page.locator('#prompt-text').fill('You are verbose.');
  await page.locator('#prompt-save').click();
  await page.waitForFunction(async (id) => (await (await fetch('/api/prompts/' + id)).json()).text === 'You are verbose.', conv.prompt_id);
  await row.locator('button[data-action="delete"]').click();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('usage view draws a chart', async () => {
  const page = await fresh();
  await ask(page, `Usage ${unique('usage')}`);
  await answerDone(page);
  await page.locator('#open-usage').click();
  await page.locator('#usage-chart svg').waitFor();
  assert.ok(await page.locator('#usage-chart svg rect').count() >= 1, 'no bar in the chart');
  assert.ok(await page.locator('#usage-table tbody tr').count() >= 1);
  assert.match(await page.locator('#usage-total').innerText(), /\$\d/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('desktop and phone layouts, with screenshots', async () => {
  const page = await fresh({ width: 1280, height: 800 });
  await ask(page, 'Show me **Markdown** and `code` [[words=40]]\n\n```js\nconst answer = 42; // the answer\n```');
  await answerDone(page);
  assert.ok(await page.locator('#sidebar').isVisible());
  assert.equal(await page.locator('#menu').isVisible(), false);
  await shot(page, 'desktop.png');
  await page.context().close();

  const phone = await fresh({ width: 390, height: 844 });
  // The sidebar hides behind the menu button; nothing overflows sideways.
  assert.ok(await phone.locator('#menu').isVisible());
  const side = await phone.locator('#sidebar').boundingBox();
  assert.ok(!side || side.x + side.width <= 1, 'the sidebar is on screen at phone width');
  await ask(phone, 'On a phone [[words=30]]');
  await answerDone(phone);
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth), 390);
  const composer = await phone.locator('#input').boundingBox();
  assert.ok(composer.y + composer.height <= 844, 'the composer is below the fold');
  await shot(phone, 'phone.png');
  await phone.locator('#menu').click();
  await phone.waitForFunction(() => document.querySelector('#sidebar').getBoundingClientRect().x >= 0);
  await phone.locator('#conversations a').first().waitFor({ state: 'visible' });
  await phone.locator('#conversations a').first().click();
  await phone.waitForFunction(() => document.querySelector('#sidebar').getBoundingClientRect().right <= 1);
  assert.deepEqual(phone.problems, []);
  await phone.context().close();
});

test('Enter sends, Shift+Enter makes a new line', async () => {
  const page = await fresh();
  const input = page.locator('#input');
  await input.click();
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  assert.equal(await input.inputValue(), 'line one\nline two');
  assert.equal(await page.locator('article.msg').count(), 0, 'Shift+Enter sent the message');
  await page.keyboard.press('Enter');
  await page.locator('article.msg[data-role="user"]').waitFor();
  assert.equal(await input.inputValue(), '');
  assert.equal(await answerDone(page), 'complete');
  assert.equal(await page.locator('article.msg[data-role="user"] p').innerText(), 'line one\nline two');
  await page.context().close();
});

test('an upstream failure is shown in the page with Retry, and Regenerate replaces an answer', async () => {
  const page = await fresh();
  const marker = unique('failure');
  await ask(page, `Fail please ${marker} [[error]]`);
  assert.equal(await answerDone(page), 'error');
  assert.ok(await lastAnswer(page).locator('.err').isVisible(), 'no error text on the message');
  assert.ok(await page.locator('#banner').isVisible(), 'no banner');
  const retry = lastAnswer(page).locator('button[data-action="retry"]');
  assert.ok(await retry.isVisible(), 'no Retry button');
  const firstID = await lastAnswer(page).getAttribute('data-id');
  await retry.click();
  assert.equal(await answerDone(page), 'error');
  assert.notEqual(await lastAnswer(page).getAttribute('data-id'), firstID, 'Retry did not make a new answer');
  assert.equal(await page.locator('article.msg[data-role="user"]').count(), 1);

  // Regenerate on a good answer: one answer, a new message, the same question.
  await page.locator('#new-chat').click();
  await ask(page, `Fine ${unique('regen')} [[words=20]]`);
  assert.equal(await answerDone(page), 'complete');
  const before = await lastAnswer(page).getAttribute('data-id');
  await lastAnswer(page).locator('button[data-action="regenerate"]').click();
  await page.waitForFunction((id) => {
    const a = [...document.querySelectorAll('article.msg[data-role="assistant"]')].pop();
    return a && a.dataset.id !== id && a.dataset.status === 'complete';
  }, before);
  assert.equal(await page.locator('article.msg[data-role="assistant"]').count(), 1);
  await page.reload();
  await ready(page);
  await lastAnswer(page).waitFor();
  assert.equal(await page.locator('article.msg[data-role="assistant"]').count(), 1);
  assert.notEqual(await lastAnswer(page).getAttribute('data-id'), before);
  await page.context().close();
});

test('the view follows the answer unless the reader scrolled up', async () => {
  const page = await fresh({ width: 800, height: 500 });
  await ask(page, `Long one ${unique('follow')} [[slow=15]] [[words=500]]`);
  const atBottom = () => page.evaluate(() => {
    const b = document.querySelector('#messages');
    return b.scrollHeight - b.scrollTop - b.clientHeight < 60;
  });
  await page.waitForFunction(() => {
    const b = document.querySelector('#messages');
    return b.scrollHeight > b.clientHeight * 1.5;
  });
  assert.ok(await atBottom(), 'the view did not follow the answer');
  await page.locator('#messages').evaluate((b) => { b.scrollTop = 0; b.dispatchEvent(new Event('scroll')); });
  const h0 = await page.locator('#messages').evaluate((b) => b.scrollHeight);
  await page.waitForFunction((h) => document.querySelector('#messages').scrollHeight > h + 100, h0);
  assert.equal(await page.locator('#messages').evaluate((b) => b.scrollTop), 0, 'the view jumped back down');
  await page.locator('#stop').click();
  await answerDone(page);
  await page.context().close();
});
