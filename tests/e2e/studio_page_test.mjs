// The studio page in a real browser: Debian's chromium driven by playwright-core (headless,
// --no-sandbox). Starts `lyra serve --port 0` (LYRA_BIN) serving web/ with the repository's
// models plus a random-init llama made here (so the test does not depend on what the shipped
// models write), recording into a temporary gallery. Opens /, checks the page loads with no
// console errors and that every tab shows; composes a tune (sheet music drawn by abcjs, artifact
// links that serve) and a painting (the SVG shows) through the forms, then finds both in the
// gallery tab; writes a 七言古诗 of 12 lines rhyming 仄 with the shipped poetry-zh model (the
// 古体 options show only for wugu/qigu/zayan, reach the server as "lines"/"tone_rhyme"/"stanzas"/
// "pattern", and are not sent for a form that refuses them); a 杂言 poem with 换韵 likewise. Saves a screenshot per step into SCREENSHOT_DIR (default
// build/studio-page-screens). With --static it opens web/index.html from disk instead (no server,
// no works). npm packages come from LYRA_NODE_MODULES when set (a git worktree has no
// node_modules of its own), else <repo>/node_modules (npm_packages.mjs). Exit 0 = pass; prints one
// line per failure.
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {nodeModules, repo, requirePackage} from './npm_packages.mjs';

const {chromium} = requirePackage('playwright-core');
const shots = process.env.SCREENSHOT_DIR || path.join(repo, 'build', 'studio-page-screens');
mkdirSync(shots, {recursive: true});
const staticOnly = process.argv.includes('--static');
const failures = [];

const RANDOM_MODEL = 'random-llama';

// A models folder: the shipped GGUFs (linked) and a random-init llama with a 2048-token context.
function makeModelsDir(tmp) {
  const dir = path.join(tmp, 'models');
  mkdirSync(dir);
  const shipped = path.join(repo, 'models');
  for (const f of readdirSync(shipped)) {
    if (f.endsWith('.gguf')) symlinkSync(path.join(shipped, f), path.join(dir, f));
  }
  const r = spawnSync(process.env.LYRA_BIN, ['model', 'init', '--arch', 'llama', '--dim', '64',
    '--layers', '2', '--heads', '2', '--ctx', '2048', '--tokenizer',
    path.join(shipped, 'tiny-shakespeare-char.gguf'), '-o', path.join(dir, `${RANDOM_MODEL}.gguf`)],
  {encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`lyra model init failed: ${r.stderr}`);
  return dir;
}

// The web/ to serve: the repository's, unless its abcjs links (web/vendor -> ../../node_modules)
// lead nowhere, as in a worktree; then a copy of links to web/'s files with vendor/ linked into
// LYRA_NODE_MODULES, so the page is the checkout's and abcjs is the installed one.
function webDir(tmp) {
  const web = path.join(repo, 'web');
  if (existsSync(path.join(web, 'vendor', 'abcjs-basic-min.js'))) return web;
  const dir = path.join(tmp, 'web');
  mkdirSync(path.join(dir, 'vendor'), {recursive: true});
  for (const f of readdirSync(web)) if (f !== 'vendor') symlinkSync(path.join(web, f), path.join(dir, f));
  const abcjs = path.join(nodeModules, 'abcjs');
  symlinkSync(path.join(abcjs, 'dist', 'abcjs-basic-min.js'), path.join(dir, 'vendor', 'abcjs-basic-min.js'));
  symlinkSync(path.join(abcjs, 'abcjs-audio.css'), path.join(dir, 'vendor', 'abcjs-audio.css'));
  return dir;
}

function startServer(tmp) {
  return new Promise((resolve, reject) => {
    const bin = process.env.LYRA_BIN;
    if (!bin) return reject(new Error('LYRA_BIN is not set'));
    const proc = spawn(bin, ['serve', '--port', '0', '--web', webDir(tmp),
      '--models', makeModelsDir(tmp), '--out-dir', path.join(tmp, 'files'), '--threads', '1'],
    {stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, LYRA_GALLERY: path.join(tmp, 'gallery.sqlite')}});
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve({proc, url: m[1]}); }
    });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); });
  });
}

let server = null;
let base;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lyra-studio-'));
if (staticOnly) {
  base = 'file://' + path.join(webDir(tmp), 'index.html');
} else {
  server = await startServer(tmp);
  base = server.url + '/';
}

// Submits the art form on `tab` with `fields` (name -> value, filled in order) and waits for its
// result box to show a work (`doneSelector` inside it) or an error; the screenshot is `shot`.png.
async function makeWork(page, tab, fields, doneSelector, shot = `${tab}-work`) {
  await page.click(`#tabs button[data-tab="${tab}"]`);
  const form = `#tab-${tab} form.art-form`;
  for (const [name, value] of Object.entries(fields)) {
    const sel = `${form} [name="${name}"]`;
    if (await page.$eval(sel, (e) => e.tagName) === 'SELECT') await page.selectOption(sel, value);
    else await page.fill(sel, value);
  }
  const result = `#tab-${tab} .result`;
  await page.$eval(result, (box) => box.replaceChildren());  // no earlier work may pass for this one
  await page.click(`${form} button[type="submit"]`);
  await page.waitForSelector(`${result} ${doneSelector}, ${result} .error`, {timeout: 120000});
  const error = await page.$(`${result} .error`);
  if (error) {
    failures.push(`${tab}: the page showed an error: ${await error.textContent()}`);
    return null;
  }
  await page.screenshot({path: path.join(shots, `${shot}.png`), fullPage: true});
  return result;
}

// Reads a result box's critics table as {name: shown value}.
async function shownScores(page, result) {
  return Object.fromEntries(await page.$$eval(`${result} table.scores tr`,
    (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1] ? r.cells[1].textContent : ''])));
}

// The 古体 options (issue #5's --lines/--tone-rhyme) through the page: hidden for a regulated
// form, shown for qigu; 12 lines and 仄 reach the server and come back as a poem of 12 lines of
// 7 characters with a 仄 rhyme; switching back to wujue hides them and leaves them out of the
// request (the server would refuse "lines" for wujue).
async function oldStylePoem(page) {
  const sent = [];
  page.on('request', (r) => { if (r.url().endsWith('/v1/art/poem')) sent.push(JSON.parse(r.postData())); });
  await page.click('#tabs button[data-tab="poem"]');
  const gu = '#tab-poem fieldset.only-for[data-forms="wugu qigu zayan"]';
  const guLines = '#tab-poem fieldset.only-for[data-forms="wugu qigu"]';
  const zaPattern = '#tab-poem fieldset.only-for[data-forms="zayan"]';
  if (await page.isVisible(gu)) failures.push('poem: the 古体 options show for the default form (wujue)');
  const poem = await makeWork(page, 'poem',
    {form: 'qigu', model: 'poetry-zh', seed: '5', lines: '12', tone_rhyme: 'ze'}, 'pre.work', 'poem-qigu');
  if (poem) {
    const lines = (await page.textContent(`${poem} pre.work`)).trim().split('\n');
    if (lines.length !== 12) failures.push(`poem: expected 12 lines, got ${lines.length}: ${lines.join(' / ')}`);
    lines.forEach((l, i) => {
      if (!/^\p{Script=Han}{7}[，。]$/u.test(l)) failures.push(`poem: line ${i + 1} '${l}' is not 7 characters and a stop`);
    });
    const scores = await shownScores(page, poem);
    if (!/仄韵/.test(scores.opening || '')) failures.push(`poem: expected a 仄 rhyme, the opening is ${scores.opening}`);
    if (scores.form !== '1.000') failures.push(`poem: form score ${scores.form}`);
  }
  if (sent.length < 1 || sent[0].lines !== 12 || sent[0].tone_rhyme !== 'ze') {
    failures.push(`poem: the qigu request lacks lines 12 / tone_rhyme ze: ${JSON.stringify(sent[0])}`);
  }
  // 杂言 with 换韵: the pattern shows, Lines hides (and its 12 is not sent), the stanzas and the
  // alternate tone reach the server, and the poem has the pattern's lengths.
  const mixed = await makeWork(page, 'poem',
    {form: 'zayan', model: 'poetry-zh', seed: '2', tone_rhyme: 'alternate', stanzas: '2,4', pattern: '3,3,5,5,7,7'},
    'pre.work', 'poem-zayan');
  if (await page.isVisible(guLines)) failures.push('poem: Lines shows for zayan');
  if (!await page.isVisible(zaPattern)) failures.push('poem: the 杂言 pattern does not show for zayan');
  if (mixed) {
    const lines = (await page.textContent(`${mixed} pre.work`)).trim().split('\n');
    const lengths = lines.map((l) => [...l].length - 1);
    if (lengths.join(',') !== '3,3,5,5,7,7') failures.push(`poem: zayan lines ${lines.join(' / ')}`);
    const scores = await shownScores(page, mixed);
    if (!/^"?换韵/.test(scores.opening || '')) failures.push(`poem: zayan opening ${scores.opening}`);
    if (scores.form !== '1.000') failures.push(`poem: zayan form score ${scores.form}`);
  }
  const za = sent[1] || {};
  if (za.pattern !== '3,3,5,5,7,7' || za.stanzas !== '2,4' || za.tone_rhyme !== 'alternate' || 'lines' in za) {
    failures.push(`poem: the zayan request is ${JSON.stringify(za)}`);
  }
  // Back to a regulated form: the options hide, keep their values, and are not sent.
  const quatrain = await makeWork(page, 'poem', {form: 'wujue'}, 'pre.work', 'poem-wujue');
  if (await page.isVisible(gu)) failures.push('poem: the 古体 options still show for wujue');
  if (quatrain) {
    const lines = (await page.textContent(`${quatrain} pre.work`)).trim().split('\n');
    if (lines.length !== 4 || !lines.every((l) => /^\p{Script=Han}{5}[，。]$/u.test(l))) {
      failures.push(`poem: wujue gave ${lines.join(' / ')}`);
    }
  }
  const plain = sent[2] || {};
  if (sent.length < 3 || ['lines', 'tone_rhyme', 'stanzas', 'pattern'].some((k) => k in plain)) {
    failures.push(`poem: the wujue request carries 古体 keys: ${JSON.stringify(plain)}`);
  }
}

const browser = await chromium.launch({executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
try {
  const page = await browser.newPage({viewport: {width: 1100, height: 800}});
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Chromium aborts an <audio> element's media fetch once it has what it needs (or when the
    // test moves on); the WAV itself is fetched and checked below like every artifact link.
    const why = r.failure() ? r.failure().errorText : '';
    if (r.resourceType() === 'media' && why === 'net::ERR_ABORTED') return;
    errors.push(`request failed: ${r.url()} (${why})`);
  });
  await page.goto(base, {waitUntil: 'load'});
  await page.waitForFunction(() => document.querySelector('#status').textContent.length > 0);
  const abcjs = await page.evaluate(() => typeof window.ABCJS === 'object');
  if (!abcjs) failures.push('abcjs did not load (web/vendor/abcjs-basic-min.js)');
  const tabs = ['poem', 'tune', 'paint', 'story', 'play'];
  if (!staticOnly) tabs.push('gallery');
  for (const tab of tabs) {
    await page.click(`#tabs button[data-tab="${tab}"]`);
    const visible = await page.isVisible(`#tab-${tab}`);
    if (!visible) failures.push(`tab ${tab} did not show`);
    if (tab === 'gallery') {
      // An empty gallery answers "No works yet." (or the server's error message).
      await page.waitForFunction(() => document.querySelector('#gallery-list').children.length > 0, null, {timeout: 10000});
    }
    await page.screenshot({path: path.join(shots, `${tab}.png`), fullPage: true});
  }
  // The common sampling fields were added to every art form.
  const seeds = await page.$$eval('form.art-form input[name="seed"]', (xs) => xs.length);
  if (seeds !== 4) failures.push(`expected 4 seed fields, got ${seeds}`);

  if (!staticOnly) {
    const models = await page.$$eval('#tab-tune select[name="model"] option', (xs) => xs.map((x) => x.value));
    if (!models.includes(RANDOM_MODEL)) failures.push(`the Model select lacks ${RANDOM_MODEL}: ${models}`);
    // A tune: abcjs draws the sheet (an <svg> inside .sheet) and the ABC/MIDI links serve.
    const tune = await makeWork(page, 'tune', {model: RANDOM_MODEL, seed: '7', rhythm: 'jig'}, '.sheet svg');
    if (tune) {
      const links = await page.$$eval(`${tune} ul.files a`, (as) => as.map((a) => [a.textContent, a.href]));
      const kinds = links.map(([k]) => k);
      for (const k of ['abc', 'mid']) if (!kinds.includes(k)) failures.push(`tune: no ${k} link (${kinds})`);
      for (const [k, href] of links) {
        const res = await fetch(href);
        if (res.status !== 200) failures.push(`tune: ${k} link ${href} answered ${res.status}`);
      }
      const meta = await page.textContent(`${tune} .meta`);
      if (!/seed 7/.test(meta) || !/gallery #\d+/.test(meta)) failures.push(`tune: meta line '${meta}'`);
    }
    // A painting: the rendered SVG shows as an image that loaded.
    const paint = await makeWork(page, 'paint', {model: RANDOM_MODEL, seed: '3', subject: 'an apple'}, 'figure img');
    if (paint) {
      const loaded = await page.$eval(`${paint} figure img`, (img) => img.complete && img.naturalWidth > 0);
      if (!loaded) failures.push('paint: the SVG image did not load');
    }
    // Both works are in the gallery, newest first.
    await page.click('#tabs button[data-tab="gallery"]');
    await page.waitForFunction(() => document.querySelectorAll('#gallery-list article.card').length >= 2, null, {timeout: 10000})
      .catch(() => {});
    const cards = await page.$$eval('#gallery-list article.card h3', (hs) => hs.map((h) => h.textContent));
    if (cards.length !== 2 || !/paint/.test(cards[0]) || !/tune/.test(cards[1])) {
      failures.push(`gallery: expected the painting then the tune, got ${JSON.stringify(cards)}`);
    }
    await page.screenshot({path: path.join(shots, 'gallery-works.png'), fullPage: true});
    await oldStylePoem(page);
  }
  for (const e of errors) failures.push(`console: ${e}`);
  console.log(`screenshots in ${shots}`);
} finally {
  await browser.close();
  if (server) server.proc.kill('SIGTERM');
  rmSync(tmp, {recursive: true, force: true});
}
for (const f of failures) console.log(`FAIL ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
