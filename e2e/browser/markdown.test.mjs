// The Markdown renderer in Chromium: linear on every input, so that a
// hostile or unlucky 40 KB answer (openers that never close, deep nesting,
// long runs of spaces) renders in milliseconds, and the same output as
// before for ordinary text.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, chatURL } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const N = 40000;
// The pathological inputs, each about N characters; built in the page.
const cases = {
  'unclosed *': ['fill', '*a '],
  'unclosed _': ['fill', '_a '],
  'unclosed **': ['fill', '**a '],
  'unclosed ~~': ['fill', '~~a '],
  'runs of *a': ['fill', '*a'],
  'runs of **a': ['fill', '**a'],
  'unclosed backticks': ['fill', '`a'],
  'backtick runs growing shorter': ['decreasing', '`'],
  'unclosed [': ['fill', '[a '],
  'unclosed ](': ['fill', '[a](b '],
  'nested brackets': ['nested', '[', ']'],
  'nested links': ['nested', '[', '](x)'],
  'deep block quote': ['fill', '> '],
  'deep list': ['list'],
  'heading ending in spaces': ['spaced', '# a'],
  'paragraph ending in spaces': ['spaced', 'a'],
  'table delimiter ending in spaces': ['spaced', '|a|\n|-'],
  'invalid autolinks in parentheses': ['fill', '(http://['],
  'every mark at once': ['fill', '*a _b `c [d](e ~~f **g <h ![i] \\j '],
};

async function fresh() {
  const page = await open(browser, chatURL);
  await ready(page);
  return page;
}

test('the Markdown renderer takes under 200 ms on each 40 KB pathological input', async (t) => {
  const page = await fresh();
  const times = await page.evaluate(async ({ cases, N }) => {
    const { renderMarkdown } = await import('/static/markdown.js');
    const build = ([kind, a, b]) => {
      const fill = (u) => u.repeat(Math.ceil(N / u.length)).slice(0, N);
      switch (kind) {
        case 'fill': return fill(a);
        case 'decreasing': { let s = ''; for (let k = 1; s.length < N; k++) s = a.repeat(k) + 'x ' + s; return s; }
        case 'nested': { const n = Math.floor(N / (a.length + b.length)); return a.repeat(n) + 'x' + b.repeat(n); }
        case 'list': return Array.from({ length: 2000 }, (_, k) => ' '.repeat(k % 40) + '- item').join('\n');
        case 'spaced': return a + ' '.repeat(N) + 'b';
      }
      throw new Error('unknown case ' + kind);
    };
    renderMarkdown('# warm\n\nSome **bold** and `code` and [a link](https://example.com).\n\n- a\n- b');
    const out = {};
    for (const [name, spec] of Object.entries(cases)) {
      const text = build(spec);
      let best = Infinity;
      // The best of three: the machine may be busy; a quadratic renderer
      // takes seconds every time.
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        const box = document.createElement('div');
        box.append(renderMarkdown(text));
        best = Math.min(best, performance.now() - t0);
      }
      out[name] = { ms: best, chars: text.length };
    }
    return out;
  }, { cases, N });
  t.diagnostic(Object.entries(times).map(([name, { ms }]) => `${name} ${ms.toFixed(1)} ms`).join('; '));
  for (const [name, { ms, chars }] of Object.entries(times)) {
    assert.ok(chars >= N * 0.9, `${name}: only ${chars} characters`);
    assert.ok(ms < 200, `${name}: ${ms.toFixed(0)} ms for ${chars} characters; want under 200`);
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the linear renderer renders ordinary Markdown as before', async () => {
  const page = await fresh();
  const html = await page.evaluate(async () => {
    const { renderMarkdown } = await import('/static/markdown.js');
    const render = (s) => { const d = document.createElement('div'); d.append(renderMarkdown(s)); return d.innerHTML; };
    return {
      emphasis: render('*em* **strong** ***both*** ~~del~~ _u_ snake_case_name'),
      unclosed: render('*a *b c'),
      code: render('`a` ``b ` c`` ` d ` `open'),
      link: render('[label *em*](https://example.com/a_(b) "title") ![alt](https://example.com/i.png) [bad](javascript:x)'),
      nestedLabel: render('[[inner](https://a.example)](https://b.example)'),
      autolink: render('see https://example.com/x. and <https://example.com/y> (http://[bad)'),
      heading: render('## Title ##'),
      breaks: render('one  \ntwo\\\nthree'),
      table: render('| a | b |\n|:--|--:|\n| 1 | 2 |'),
      deepQuote: render('> '.repeat(20) + 'deep').split('<blockquote>').length - 1,
    };
  });
  const a = '<a href="https://example.com/a_(b)" rel="noopener noreferrer nofollow" target="_blank">';
  assert.equal(html.emphasis, '<p><em>em</em> <strong>strong</strong> <strong><em>both</em></strong> <del>del</del> <em>u</em> snake_case_name</p>');
  assert.equal(html.unclosed, '<p>*a *b c</p>');
  assert.equal(html.code, '<p><code>a</code> <code>b ` c</code> <code>d</code> `open</p>');
  assert.equal(html.link.startsWith('<p>' + a + 'label <em>em</em></a>'), true, html.link);
  assert.match(html.link, /<span class="unsafe-link" title="link removed">bad<\/span>/);
  assert.match(html.nestedLabel, /<a href="https:\/\/b.example\/"[^>]*><a href="https:\/\/a.example\/"/);
  assert.match(html.autolink, /<a href="https:\/\/example.com\/x"[^>]*>https:\/\/example.com\/x<\/a>\. and <a href="https:\/\/example.com\/y"/);
  assert.match(html.autolink, /\(http:\/\/\[bad\)<\/p>$/);
  assert.equal(html.heading, '<h2>Title</h2>');
  assert.equal(html.breaks, '<p>one<br>two<br>three</p>');
  assert.match(html.table, /<th>a<\/th><th style="text-align: right;">b<\/th>/);
  assert.equal(html.deepQuote, 16, 'block quotes nest to the depth bound, then are text');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
