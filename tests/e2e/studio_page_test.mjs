// The studio page in a real browser: Debian's chromium driven by playwright-core (headless,
// --no-sandbox). Starts `lyra serve --port 0` (LYRA_BIN) serving web/, opens /, checks the page
// loads with no console errors, that every tab shows, and that the gallery tab answers; saves a
// screenshot per tab into SCREENSHOT_DIR (default build/studio-page-screens). With --static it
// opens web/index.html from disk instead (no server). Exit 0 = pass; prints one line per failure.
import {spawn} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';

const repo = process.env.LYRA_SOURCE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const require = createRequire(path.join(repo, 'package.json'));
const {chromium} = require('playwright-core');
const shots = process.env.SCREENSHOT_DIR || path.join(repo, 'build', 'studio-page-screens');
mkdirSync(shots, {recursive: true});
const staticOnly = process.argv.includes('--static');
const failures = [];

function startServer() {
  return new Promise((resolve, reject) => {
    const bin = process.env.LYRA_BIN;
    if (!bin) return reject(new Error('LYRA_BIN is not set'));
    const proc = spawn(bin, ['serve', '--port', '0', '--web', path.join(repo, 'web'),
      '--models', path.join(repo, 'models'), '--threads', '1'], {stdio: ['ignore', 'pipe', 'pipe']});
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
let galleryServed = false;
if (staticOnly) {
  base = 'file://' + path.join(repo, 'web', 'index.html');
} else {
  server = await startServer();
  base = server.url + '/';
  galleryServed = (await fetch(server.url + '/v1/gallery?limit=1')).status === 200;
  if (!galleryServed) console.log('note: the server has no GET /v1/gallery yet; the gallery tab is not opened');
}

const browser = await chromium.launch({executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
try {
  const page = await browser.newPage({viewport: {width: 1100, height: 800}});
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(base, {waitUntil: 'load'});
  await page.waitForFunction(() => document.querySelector('#status').textContent.length > 0);
  const abcjs = await page.evaluate(() => typeof window.ABCJS === 'object');
  if (!abcjs) failures.push('abcjs did not load (web/vendor/abcjs-basic-min.js)');
  const tabs = ['poem', 'tune', 'paint', 'story', 'play'];
  if (galleryServed) tabs.push('gallery');
  for (const tab of tabs) {
    await page.click(`#tabs button[data-tab="${tab}"]`);
    const visible = await page.isVisible(`#tab-${tab}`);
    if (!visible) failures.push(`tab ${tab} did not show`);
    if (tab === 'gallery' && galleryServed) {
      // The gallery list answers (works, "No works yet." or the server's error message).
      await page.waitForFunction(() => document.querySelector('#gallery-list').children.length > 0, null, {timeout: 10000});
    }
    await page.screenshot({path: path.join(shots, `${tab}.png`), fullPage: true});
  }
  // The common sampling fields were added to every art form.
  const seeds = await page.$$eval('form.art-form input[name="seed"]', (xs) => xs.length);
  if (seeds !== 4) failures.push(`expected 4 seed fields, got ${seeds}`);
  for (const e of errors) failures.push(`console: ${e}`);
  console.log(`screenshots in ${shots}`);
} finally {
  await browser.close();
  if (server) server.proc.kill('SIGTERM');
}
for (const f of failures) console.log(`FAIL ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
