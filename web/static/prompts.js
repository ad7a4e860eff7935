// Saved system prompts: the picker in the composer and the dialog that
// lists, creates, edits and deletes them.

import { api } from './api.js';

const $ = (id) => document.getElementById(id);
let prompts = [];
let choose = () => {};

/** loadPrompts fetches the user's prompts and fills the picker and the dialog. */
export async function loadPrompts() {
  const data = await api('GET', '/api/prompts');
  prompts = (data && data.data) || (Array.isArray(data) ? data : []);
  draw();
}

function draw() {
  const sel = $('prompt');
  const keep = sel.value;
  sel.replaceChildren();
  const none = document.createElement('option');
  none.value = '';
  none.textContent = 'none';
  sel.append(none);
  for (const p of prompts) {
    const o = document.createElement('option');
    o.value = p.id;
    o.textContent = p.name;
    sel.append(o);
  }
  sel.value = prompts.some((p) => p.id === keep) ? keep : '';

  const ul = $('prompt-list');
  ul.replaceChildren();
  for (const p of prompts) {
    const li = document.createElement('li');
    li.dataset.id = p.id;
    const name = document.createElement('span');
    name.textContent = p.name;
    name.title = p.text;
    li.append(name,
      action('Use', () => { choose(p.id); $('prompts-dialog').close(); }),
      action('Edit', () => edit(p)),
      action('Delete', () => remove(p)));
    ul.append(li);
  }
  if (prompts.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No saved prompt yet.';
    ul.append(li);
  }
}

function action(text, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.dataset.action = text.toLowerCase();
  b.addEventListener('click', onclick);
  return b;
}

function edit(p) {
  $('prompt-id').value = p ? p.id : '';
  $('prompt-name').value = p ? p.name : '';
  $('prompt-text').value = p ? p.text : '';
  $('prompt-name').focus();
}

async function remove(p) {
  try {
    await api('DELETE', '/api/prompts/' + encodeURIComponent(p.id));
    if ($('prompt').value === p.id) choose('');
    await loadPrompts();
  } catch (e) {
    $('prompt-list').prepend(Object.assign(document.createElement('li'), { className: 'error-text', textContent: e.message }));
  }
}

/** initPrompts wires the dialog; onChoose selects a prompt for the conversation. */
export function initPrompts(onChoose) {
  choose = onChoose;
  $('open-prompts').addEventListener('click', () => {
    edit(null);
    $('prompts-dialog').showModal();
  });
  $('prompt-clear').addEventListener('click', () => edit(null));
  $('prompt-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = $('prompt-id').value;
    const body = { name: $('prompt-name').value.trim(), text: $('prompt-text').value };
    try {
      if (id) await api('PUT', '/api/prompts/' + encodeURIComponent(id), body);
      else await api('POST', '/api/prompts', body);
      edit(null);
      await loadPrompts();
    } catch (e) {
      $('prompt-list').prepend(Object.assign(document.createElement('li'), { className: 'error-text', textContent: e.message }));
    }
  });
}
