// Simple syntax highlighting: one tokenizer for C-like, scripting, shell,
// SQL and data languages that marks comments, strings, numbers, keywords
// and types as <span class="tok-*"> built with textContent. It never
// changes the text, only wraps parts of it.

const KEYWORDS = {
  js: 'async await break case catch class const continue debugger default delete do else export extends finally for from function if import in instanceof let new of return static super switch this throw try typeof var void while with yield null undefined true false',
  ts: 'abstract as interface type enum implements private protected public readonly declare namespace keyof',
  py: 'and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield None True False self',
  go: 'break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false iota',
  rust: 'as async await break const continue crate else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while',
  c: 'auto break case char const continue default do double else enum extern float for goto if inline int long register return short signed sizeof static struct switch typedef union unsigned void volatile while class public private protected virtual template typename namespace using new delete true false nullptr bool',
  java: 'abstract boolean break byte case catch char class continue default do double else enum extends final finally float for if implements import instanceof int interface long new package private protected public return short static super switch synchronized this throw throws try void volatile while true false null var',
  sh: 'if then else elif fi for while until do done case esac in function return local export echo exit set unset readonly shift source',
  sql: 'select from where insert into values update set delete create table drop alter index on join left right inner outer group by order having limit offset as and or not null is in like primary key foreign references distinct union all case when then else end',
  ruby: 'def end if elsif else unless while until for in do return class module self nil true false yield begin rescue ensure require',
};
const ALIASES = {
  javascript: 'js', jsx: 'js', mjs: 'js', node: 'js', typescript: 'ts', tsx: 'ts', python: 'py', py3: 'py',
  golang: 'go', rs: 'rust', 'c++': 'c', cpp: 'c', cc: 'c', h: 'c', cs: 'java', csharp: 'java', kotlin: 'java',
  kt: 'java', swift: 'java', bash: 'sh', shell: 'sh', zsh: 'sh', console: 'sh', rb: 'ruby', postgres: 'sql',
  postgresql: 'sql', mysql: 'sql', sqlite: 'sql', json: 'json', yaml: 'yaml', yml: 'yaml', toml: 'yaml',
};
const HASH_COMMENTS = new Set(['py', 'sh', 'ruby', 'yaml']);

function words(lang) {
  if (lang === 'ts') return new Set((KEYWORDS.js + ' ' + KEYWORDS.ts).split(' '));
  return new Set((KEYWORDS[lang] || '').split(' ').filter(Boolean));
}

/** highlight returns a DocumentFragment of code with its tokens wrapped. */
export function highlight(code, lang) {
  const frag = document.createDocumentFragment();
  const key = String(lang || '').toLowerCase();
  const l = ALIASES[key] || key;
  if (!KEYWORDS[l] && !['json', 'yaml'].includes(l) && l !== '') {
    frag.append(code);
    return frag;
  }
  const kw = words(l);
  const sqlish = l === 'sql';
  const hash = HASH_COMMENTS.has(l);
  const slash = !hash && l !== 'sql' && l !== 'json';
  let text = '';
  const flush = () => { if (text) { frag.append(text); text = ''; } };
  const tok = (cls, s) => {
    flush();
    const span = document.createElement('span');
    span.className = 'tok-' + cls;
    span.textContent = s;
    frag.append(span);
  };
  let i = 0;
  while (i < code.length) {
    const rest = code.slice(i);
    let m;
    if ((slash && (m = /^\/\/[^\n]*|^\/\*[\s\S]*?(\*\/|$)/.exec(rest))) ||
        (hash && (m = /^#[^\n]*/.exec(rest))) ||
        (sqlish && (m = /^--[^\n]*/.exec(rest)))) {
      tok('c', m[0]);
    } else if ((m = /^("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`(?:[^`\\]|\\.)*`?)/.exec(rest)) && (rest[0] !== "'" || l !== 'rust' || /^'.'/.test(rest) || /^'\\/.test(rest))) {
      tok('s', m[0]);
    } else if ((m = /^(0x[\da-fA-F_]+|\d[\d_]*(\.\d+)?([eE][+-]?\d+)?)/.exec(rest)) && !/\w/.test(code[i - 1] || '')) {
      tok('n', m[0]);
    } else if ((m = /^[A-Za-z_$][\w$]*/.exec(rest))) {
      const w = m[0];
      if (kw.has(sqlish ? w.toLowerCase() : w)) tok('k', w);
      else if (/^[A-Z][a-z]\w*$/.test(w) && l !== 'sql') tok('t', w);
      else text += w;
    } else {
      text += code[i];
      i++;
      continue;
    }
    i += m[0].length;
  }
  flush();
  return frag;
}
