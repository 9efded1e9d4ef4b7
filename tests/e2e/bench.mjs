// Benchmark: the shipped UI's size (wasm + js, raw and gzip) and the time
// from navigation to an interactive step 1 in headless Chromium, median of
// several loads. Sizes come from web/dist; timing needs E2E_BASE_URL (the
// proxy serving that build) and E2E_PASSWORD for the sign-in.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { launch } from './lib.mjs';

const DIST = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../web/dist');
const LOADS = Number(process.env.BENCH_LOADS || 9);

function sizes() {
  // Every file of web/dist, snippets/ included: the budget is the whole
  // transfer. `gzip` is gzip -9 of the file; `sent` what the proxy sends a
  // browser that accepts gzip: the precompressed twin FILE.gz (zopfli;
  // never counted as a file of its own), else the file as it is.
  const rows = readdirSync(DIST, { recursive: true }).filter((f) => /\.(wasm|js|css|html)$/.test(f)).map((file) => {
    const bytes = readFileSync(path.join(DIST, file));
    const twin = path.join(DIST, `${file}.gz`);
    const gz = existsSync(twin) ? readFileSync(twin) : null;
    if (gz && !gunzipSync(gz).equals(bytes)) throw new Error(`${file}.gz is not ${file} compressed: rebuild the UI`);
    const gzip = gzipSync(bytes, { level: 9 }).length;
    return { file, raw: bytes.length, gzip, sent: gz ? gz.length : bytes.length, gz };
  });
  const sum = (pick) => rows.filter(pick).reduce(
    (a, r) => ({ raw: a.raw + r.raw, gzip: a.gzip + r.gzip, sent: a.sent + r.sent }),
    { raw: 0, gzip: 0, sent: 0 },
  );
  return { rows, code: sum((r) => /\.(wasm|js)$/.test(r.file)), page: sum(() => true) };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const s = sizes();
console.log('shipped UI (web/dist):');
const line = (name, r) => console.log(
  `  ${name.padEnd(26)} ${kb(r.raw).padStart(10)} raw ${kb(r.gzip).padStart(10)} gzip -9 ${kb(r.sent).padStart(10)} sent (.gz)`,
);
for (const r of s.rows) line(r.file, r);
line('wasm + js', s.code);
line('everything shipped', s.page);

const base = process.env.E2E_BASE_URL?.replace(/\/$/, '');

// What a browser that accepts gzip is actually sent: the bytes on the wire
// (node:http does not decompress), which must be the .gz files.
function fetchRaw(url) {
  return new Promise((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}
if (base) {
  let wire = 0;
  for (const r of s.rows) {
    const res = await fetchRaw(`${base}/${r.file.split(path.sep).join('/')}`);
    if (res.status !== 200) throw new Error(`${r.file}: HTTP ${res.status} from the proxy`);
    if (r.gz && (res.encoding !== 'gzip' || !res.body.equals(r.gz))) {
      throw new Error(`${r.file}: the proxy did not send its .gz (Content-Encoding ${res.encoding})`);
    }
    wire += res.body.length;
  }
  console.log(`  ${'sent by the proxy'.padEnd(26)} ${kb(wire).padStart(10)} on the wire (Accept-Encoding: gzip), checked equal to the .gz files`);
}

if (!base || !process.env.E2E_PASSWORD) {
  console.log('time to interactive step 1: skipped (set E2E_BASE_URL and E2E_PASSWORD)');
  process.exit(0);
}

// Sign in once over HTTP; each load starts with the session in
// sessionStorage, as after a reload, and opens step 1 directly.
const login = await fetch(`${base}/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: process.env.E2E_USERNAME || 'admin', password: process.env.E2E_PASSWORD }),
});
if (!login.ok) throw new Error(`login failed: HTTP ${login.status}`);
const { token } = await login.json();

const browser = await launch();
const times = [];
try {
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext(); // cold cache every load
    const page = await context.newPage();
    await page.addInitScript((t) => {
      sessionStorage.setItem('alphaswarm.token', t);
      // Record when step 1's AWS choice exists and is enabled (interactive).
      const seen = () => {
        const radio = document.querySelector('[data-step=choose] #cloud-aws');
        if (radio && !radio.disabled && window.__step1Ready === undefined) window.__step1Ready = performance.now();
      };
      new MutationObserver(seen).observe(document, { childList: true, subtree: true });
    }, token);
    await page.goto(`${base}/#/orgs/bench-org/connect/aws`);
    await page.waitForFunction(() => window.__step1Ready !== undefined, null, { timeout: 20_000 });
    times.push(await page.evaluate(() => window.__step1Ready));
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`navigation -> interactive step 1 (${LOADS} cold loads): median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`);
