// Lyra studio page: plain JavaScript, no build step. Talks to `lyra serve`:
//   POST /v1/art/{poem,tune,paint,story}  JSON request (the CLI's options) -> work JSON
//   POST /v1/art/play/{create,turn}        game sessions
//   GET  /v1/gallery[?form=&limit=&before=], GET /v1/gallery/{id}  (docs/studio.md)
// Sheet music and playback use abcjs (web/vendor/abcjs-basic-min.js -> node_modules/abcjs).
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function setStatus(msg, isError = false) {
  const s = $('#status');
  s.textContent = msg;
  s.classList.toggle('error', isError);
}

// fetch + JSON with the server's OpenAI-shaped errors turned into one message.
async function api(path, body) {
  const opt = body === undefined ? {} : {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)};
  const res = await fetch(path, opt);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const msg = data && data.error && data.error.message ? data.error.message : `${res.status} ${res.statusText}`;
    throw new Error(msg);
  }
  return data;
}

// --- tabs ----------------------------------------------------------------------------------
function showTab(name) {
  for (const b of $$('#tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const t of $$('.tab')) t.hidden = t.id !== `tab-${name}`;
  if (name === 'gallery') loadGallery(true);
}

// --- the common options every art form takes ----------------------------------------------
const COMMON = [
  ['seed', 'Seed', 'number', '0'], ['n', 'Candidates', 'number', '1'],
  ['temperature', 'Temperature', 'number', '0.8'], ['top_k', 'Top-k', 'number', ''],
  ['top_p', 'Top-p', 'number', ''],
];

// The served models (GET /v1/models), offered in every art form's Model select.
let servedModels = [];

function addCommonFields(fs) {
  fs.append(el('legend', {}, 'Sampling'));
  const model = el('select', {name: 'model'}, el('option', {value: ''}, "the form's default"));
  for (const m of servedModels) model.append(el('option', {value: m}, m));
  fs.append(el('label', {}, 'Model ', model));
  for (const [name, label, type, value] of COMMON) {
    const input = el('input', {name, type, step: 'any', min: '0'});
    if (value !== '') input.value = value;
    fs.append(el('label', {}, `${label} `, input));
  }
}

// Form fields -> request JSON: empty fields are left out (the form's defaults apply), and so are
// disabled ones (options of another form, see showFormOptions).
function requestFrom(form) {
  const req = {};
  for (const input of $$('input, select', form)) {
    if (!input.name || input.matches(':disabled')) continue;
    if (input.type === 'checkbox') { if (input.checked) req[input.name] = true; continue; }
    const v = input.value.trim();
    if (v === '') continue;
    req[input.name] = input.type === 'number' ? Number(v) : v;
  }
  return req;
}

// Options that only some forms take (fieldset.only-for[data-forms]: the 古体 line count and
// rhyme tone) show, and are sent, only while the form select names one of those forms: the server
// refuses them for any other form ("lines: only the 古体 forms ... take a line count").
function showFormOptions(form) {
  const picked = $('select[name="form"]', form).value;
  for (const fs of $$('fieldset.only-for', form)) {
    const on = fs.dataset.forms.split(' ').includes(picked);
    fs.hidden = !on;
    fs.disabled = !on;
  }
}

// --- rendering a work ------------------------------------------------------------------------
function scoresTable(scores) {
  const t = el('table', {class: 'scores'});
  const entries = Object.entries(scores || {});
  if (entries.length === 0) t.append(el('tr', {}, el('td', {}, 'no scores')));
  for (const [k, v] of entries) {
    t.append(el('tr', {}, el('td', {}, k), el('td', {}, typeof v === 'number' ? v.toFixed(3) : JSON.stringify(v))));
  }
  return t;
}

// Artifact kind -> URL under /files/ (null for a gallery work's file this server did not write).
function fileUrls(work) {
  const urls = {};
  for (const [kind, url] of Object.entries(work.files || {})) if (url) urls[kind] = url;
  return urls;
}

function fileLinks(work) {
  const ul = el('ul', {class: 'files'});
  for (const [kind, url] of Object.entries(fileUrls(work))) ul.append(el('li', {}, el('a', {href: url, target: '_blank'}, kind)));
  return ul;
}

let tuneCounter = 0;
function renderTune(work, box) {
  const id = `abc-${++tuneCounter}`;
  const sheet = el('div', {id, class: 'sheet'});
  box.append(sheet);
  if (window.ABCJS && work.text) {
    const visual = window.ABCJS.renderAbc(id, work.text, {responsive: 'resize'});
    if (window.ABCJS.synth && window.ABCJS.synth.supportsAudio()) {
      const controls = el('div', {class: 'abc-audio'});
      box.append(controls);
      const synthControl = new window.ABCJS.synth.SynthController();
      synthControl.load(controls, null, {displayPlay: true, displayProgress: true});
      synthControl.setTune(visual[0], false).catch((e) => setStatus(`playback: ${e.message || e}`, true));
    }
  } else {
    sheet.append(el('pre', {}, work.text || ''));
  }
  const urls = fileUrls(work);
  if (urls.wav) box.append(el('audio', {controls: '', src: urls.wav}));
}

function renderPaint(work, box) {
  const urls = fileUrls(work);
  const grid = el('div', {class: 'grid'});
  if (urls.svg || urls.png) grid.append(el('figure', {}, el('img', {src: urls.svg || urls.png, alt: 'the painting'}), el('figcaption', {}, 'best')));
  (work.candidates || []).forEach((c, i) => {
    const fig = el('figure', {class: 'candidate'});
    if (c.svg) fig.append(el('div', {class: 'svgbox'}, c.svg));
    fig.append(el('pre', {class: 'dsl'}, (c.text || '').slice(0, 400)));
    fig.append(el('figcaption', {}, `#${i + 1} · ${Object.entries(c.scores || {}).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(2) : v}`).join(' · ')}`));
    grid.append(fig);
  });
  box.append(grid);
}

function renderWork(work, box) {
  box.replaceChildren();
  const head = el('p', {class: 'meta'}, `${work.form} · seed ${work.seed}${work.gallery_id !== undefined ? ` · gallery #${work.gallery_id}` : ''}${work.model ? ` · ${work.model}` : ''}`);
  box.append(head);
  if (work.form === 'tune') renderTune(work, box);
  else if (work.form === 'paint') renderPaint(work, box);
  else box.append(el('pre', {class: 'work'}, work.text || ''));
  box.append(el('h3', {}, 'Critics'), scoresTable(work.scores), fileLinks(work));
}

async function makeArt(formName, request, box) {
  box.replaceChildren(el('p', {class: 'busy'}, 'working…'));
  setStatus(`${formName}: working…`);
  try {
    const work = await api(`/v1/art/${formName}`, request);
    renderWork(work, box);
    setStatus(`${formName}: done`);
    return work;
  } catch (e) {
    box.replaceChildren(el('p', {class: 'error'}, e.message));
    setStatus(`${formName}: ${e.message}`, true);
    return null;
  }
}

// --- play --------------------------------------------------------------------------------------
let playSession = null;

function playLog(text, cls = 'narration') {
  const log = $('#play-log');
  log.append(el('p', {class: cls}, text));
  log.scrollTop = log.scrollHeight;
}

function playChoices(choices) {
  const box = $('#play-choices');
  box.replaceChildren();
  for (const c of choices || []) box.append(el('button', {type: 'button', onclick: () => playTurn(c)}, c));
}

async function playTurn(input) {
  if (!playSession) return;
  playLog(`> ${input}`, 'input');
  try {
    const r = await api('/v1/art/play/turn', {session: playSession, input});
    playLog(r.text || r.narration || '');
    if (r.status) playLog(r.status, 'meta');
    playChoices(r.choices);
  } catch (e) {
    playLog(e.message, 'error');
  }
}

// --- gallery -----------------------------------------------------------------------------------
let galleryBefore = 0;

async function loadGallery(reset) {
  const list = $('#gallery-list');
  if (reset) { list.replaceChildren(); galleryBefore = 0; }
  const form = $('#gallery-form').value;
  const q = new URLSearchParams({limit: '24'});
  if (form) q.set('form', form);
  if (galleryBefore > 0) q.set('before', String(galleryBefore));
  try {
    const page = await api(`/v1/gallery?${q}`);
    for (const w of page.data || []) list.append(galleryCard(w));
    galleryBefore = page.next_before || 0;
    $('#gallery-more').hidden = !page.next_before;
    if (list.children.length === 0) list.append(el('p', {}, 'No works yet.'));
  } catch (e) {
    list.replaceChildren(el('p', {class: 'error'}, `gallery: ${e.message}`));
  }
}

function galleryCard(w) {
  const out = el('div', {class: 'result'});
  const settings = el('details', {}, el('summary', {}, 'settings'), el('pre', {}, JSON.stringify(w.request, null, 2)));
  const remix = el('button', {type: 'button', onclick: () => {
    const req = Object.assign({}, w.request, {seed: Math.floor(Math.random() * 1e9)});
    makeArt(w.form, req, out);
  }}, 'Remix (new seed)');
  // What the work looks like: the painting, the sheet music, else the text.
  const view = el('div', {class: 'view'});
  const urls = fileUrls(w);
  if (w.form === 'paint' && (urls.svg || urls.png)) view.append(el('img', {src: urls.svg || urls.png, alt: `work ${w.id}`}));
  else if (w.form === 'tune') setTimeout(() => renderTune(w, view), 0);  // abcjs needs it in the page
  else view.append(el('pre', {class: 'work'}, (w.text || '').slice(0, 600)));
  return el('article', {class: 'card'},
    el('h3', {}, `#${w.id} · ${w.form}`),
    el('p', {class: 'meta'}, `${w.created_at} · seed ${w.seed} · ${w.source}`),
    view, scoresTable(w.scores), fileLinks(w), settings, remix, out);
}

// --- wiring ------------------------------------------------------------------------------------
async function init() {
  if (location.protocol !== 'file:') {
    try {
      servedModels = ((await api('/v1/models')).data || []).map((m) => m.id);
    } catch (e) {
      setStatus(`models: ${e.message}`, true);  // the forms' default models still apply
    }
  }
  for (const b of $$('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  for (const fs of $$('fieldset.common')) addCommonFields(fs);
  for (const form of $$('form.art-form')) {
    const picker = $('select[name="form"]', form);
    if (picker && $('fieldset.only-for', form)) {
      picker.addEventListener('change', () => showFormOptions(form));
      showFormOptions(form);  // a reload may keep the last choice
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      makeArt(form.dataset.form, requestFrom(form), $('.result', form.parentElement));
    });
  }
  $('#play-new').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const req = requestFrom(ev.target);
    $('#play-log').replaceChildren();
    try {
      const r = await api('/v1/art/play/create', req);
      playSession = r.session;
      playLog(r.intro || r.text || 'A new game begins.');
      if (r.status) playLog(r.status, 'meta');
      playChoices(r.choices);
      $('#play-turn').hidden = false;
    } catch (e) {
      playLog(e.message, 'error');
    }
  });
  $('#play-turn').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = ev.target.elements.input;
    if (input.value.trim()) playTurn(input.value.trim());
    input.value = '';
  });
  $('#gallery-refresh').addEventListener('click', () => loadGallery(true));
  $('#gallery-form').addEventListener('change', () => loadGallery(true));
  $('#gallery-more').addEventListener('click', () => loadGallery(false));
  setStatus(window.ABCJS ? 'ready' : 'ready (abcjs not loaded: tunes show as ABC text)');
}

document.addEventListener('DOMContentLoaded', init);
