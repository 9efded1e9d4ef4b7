// End to end: the Cloudflare wizard in Debian's Chromium against the proxy
// at E2E_BASE_URL, whose Cloudflare API is the loopback fake of
// alphaswarm-fakes (started by proxy/examples/e2e_peers.rs). The customer's
// side is the fake's control listener: it creates a token from the
// dashboard link the wizard showed (POST <control>/mint, as the dashboard
// does with a template link) and edits it (POST <control>/add-group).
//
// One organisation through the five steps: the template cards and their
// dashboard links (user- and account-owned); two Global API keys refused at
// the token field, in plain words, before anything is sent; a token made
// without DNS edit, red in step 4 with its dashboard fix, green once the
// customer added it; zones; saved, with its expiry and rotation reminder in
// the list. The token is the canary: after it was submitted it is in no
// input, nowhere in the page's HTML, and in no file the proxy and the peers
// write (logs, audit, integrations, state: E2E_SECRET_SCAN_DIR).
//
// Env: E2E_BASE_URL, E2E_PASSWORD, E2E_TOTP_SECRET, E2E_USERNAME (default
// admin), E2E_CLOUDFLARE_CONTROL_URL, E2E_CLOUDFLARE_ACCOUNT_ID and
// E2E_SECRET_SCAN_DIR. scripts/test-web.sh sets them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEVELOPER_WORDS as HTTP_WORDS, logIn, openPage, requireEnv, wizardHelpers } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_TOTP_SECRET');
const CONTROL = requireEnv('E2E_CLOUDFLARE_CONTROL_URL').replace(/\/$/, '');
const ACCOUNT_ID = requireEnv('E2E_CLOUDFLARE_ACCOUNT_ID');
const SCAN_DIR = requireEnv('E2E_SECRET_SCAN_DIR');
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const ORG = `cf-${Date.now().toString(36)}`;
const STEP_TIMEOUT = 60_000;
// Cloudflare's permission-group id for DNS Write (proxy/API.md).
const DNS_WRITE = '4755a26eedb94da69e1066d98aa820be';
// lib.mjs's words, the API's field names and Cloudflare's numeric codes.
const DEVELOPER_WORDS = new RegExp(String.raw`\b(${HTTP_WORDS}|token_owner|account_id|cfk|code \d+|1000|10000|9109)\b|position \d`);
// Both Global API key formats (federation-formats.md §4.5), random so that
// finding one anywhere can only mean it leaked.
const GLOBAL_KEYS = [`cfk_${randomBytes(20).toString('hex')}`, randomBytes(20).toString('hex').slice(0, 37)];

let browser, page;
const pageErrors = [];
const cspViolations = [];

before(async () => {
  ({ browser, page } = await openPage({ shots: SHOTS, timeout: STEP_TIMEOUT, pageErrors, cspViolations }));
});

after(async () => {
  await browser?.close();
});

const { checkpoint, step, next, stepUpIfAsked, errorShownOnce, openWizard } = wizardHelpers(() => page, {
  shots: SHOTS, totpSecret: TOTP_SECRET, developerWords: DEVELOPER_WORDS,
});
const shot = (name) => checkpoint(`cloudflare-${name}`);

async function control(route, body) {
  const r = await fetch(`${CONTROL}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${route}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const dashboardLink = () => page.getAttribute('[data-link=api_token_template] a', 'href');

/** The secret is in no input and nowhere in the page's HTML. */
async function notInPage(secret, where) {
  assert.ok(!(await page.content()).includes(secret), `${where}: the token is in the page's HTML`);
  const values = await page.$$eval('input, textarea', (els) => els.map((e) => e.value));
  assert.ok(!values.some((v) => v.includes(secret)), `${where}: the token is in an input`);
}

/** Every file under `dir`, recursively. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

test('log in', async () => {
  await logIn(page, BASE, { username: USERNAME, password: PASSWORD });
});

let link;

test('step 2: template cards, each with its dashboard link; an account-owned token needs the account id', async () => {
  await openWizard(ORG);
  await page.check('#cloud-cloudflare');
  await next();
  await step('bootstrap').locator('.artifacts').waitFor();
  assert.equal(await page.locator('#template input[type=radio]').count(), 5);
  assert.ok(await page.isChecked('#template-dns_edit'), 'DNS records is the default');
  assert.match(await page.textContent('#template [data-choice=dns_edit]'), /Zone > DNS > Edit/);
  const userLink = await dashboardLink();
  assert.match(userLink, /^https:\/\/dash\.cloudflare\.com\/profile\/api-tokens\?/);
  assert.match(decodeURIComponent(userLink), /"key":"dns","type":"edit"/);
  // Another template: another link, other permissions.
  await page.check('#template-tunnel');
  await page.waitForFunction((old) => document.querySelector('[data-link=api_token_template] a')?.href !== old, userLink);
  assert.match(decodeURIComponent(await dashboardLink()), /"key":"argotunnel","type":"edit"/);
  await page.locator('[data-step=bootstrap] .notes', { hasText: 'Account > Cloudflare Tunnel > Edit' }).waitFor();
  // Account-owned: the id is asked for at its field, then the account form.
  await page.check('#token_owner-account');
  const words = await errorShownOnce('missing_field', 'account_id');
  assert.match(words, /account id/);
  await page.fill('#account_id', ACCOUNT_ID.toUpperCase());
  await page.click('[data-step=bootstrap] button[type=submit]');
  await page.waitForFunction(() => document.querySelector('[data-link=api_token_template] a')?.href.startsWith('https://dash.cloudflare.com/?to=/:account/api-tokens'));
  await shot('02-bootstrap-account-owned');
  // Back to a user token for DNS records, limited to the account.
  await page.fill('#account_id', '');
  await page.check('#token_owner-user');
  await page.check('#template-dns_edit');
  await page.waitForFunction(() => /%22dns%22|"dns"/.test(document.querySelector('[data-link=api_token_template] a')?.href ?? ''));
  link = await dashboardLink();
  assert.match(link, /^https:\/\/dash\.cloudflare\.com\/profile\/api-tokens\?/);
  await shot('02-bootstrap');
  await next();
});

let token;

test('step 3: both Global API key formats are refused at the token field, in plain words, and the field empties', async () => {
  await step('identity').waitFor();
  assert.equal(await page.getAttribute('#token', 'type'), 'password');
  for (const key of GLOBAL_KEYS) {
    await page.fill('#token', key);
    await page.press('#token', 'Enter');
    const words = await errorShownOnce('global_api_key_refused', 'token');
    assert.match(words, /Global API key/);
    assert.match(words, /scoped API token/, 'it says what to paste instead');
    assert.equal(await page.inputValue('#token'), '', 'the field is emptied after submit');
    await notInPage(key, 'Global API key');
  }
  await shot('03b-global-key-refused');
});

test('step 3: a scoped token (made without DNS edit) verifies; it is shown nowhere', async () => {
  // The customer opens the link and unticks DNS edit before creating it.
  const minted = await control('/mint', { link, drop_keys: ['dns', 'zone_dns'], expires_in_days: 60 });
  token = minted;
  await page.fill('#token', token.value);
  await page.press('#token', 'Enter');
  await stepUpIfAsked();
  await page.locator('[data-result=identity]').waitFor();
  const result = await page.textContent('[data-result=identity]');
  assert.ok(result.includes(token.id), result);
  assert.match(result, /User-owned token/);
  assert.equal(await page.getAttribute('[data-result=identity] [data-rotation]', 'data-rotation'), 'ok');
  assert.equal(await page.inputValue('#token'), '', 'the field is emptied after submit');
  assert.match(await page.textContent('#token-help'), /held for these checks/);
  await notInPage(token.value, 'step 3');
  await shot('03-identity');
  await next();
});

test('step 4: the missing group is red with its dashboard fix; once added, every group is green', async () => {
  const missing = page.locator('.checks li[data-granted=false]');
  await missing.first().waitFor();
  assert.equal(await missing.count(), 1);
  assert.match(await missing.textContent(), /Zone > DNS > Edit/);
  assert.equal(await missing.locator('.badge.missing').textContent(), 'Missing required');
  assert.equal(await page.getAttribute('[data-evidence]', 'data-evidence'), 'token_policies');
  assert.match(await page.textContent('[data-fix=permissions]'), /Edit on the token .*Zone > DNS > Edit/);
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'cannot continue without it');
  await notInPage(token.value, 'step 4');
  await shot('04b-permissions-missing');
  // The customer edits the token in the dashboard: same value, one more group.
  await control('/add-group', { token_id: token.id, group_id: DNS_WRITE });
  await page.click('button:has-text("Check again")');
  await missing.first().waitFor({ state: 'detached' });
  assert.equal(await page.locator('.checks li[data-granted=true] .badge.ok').count(), 2, 'Zone Read and DNS Write');
  assert.equal(await page.locator('.checks li[data-granted=unverified]').count(), 0);
  assert.ok(await page.locator('.step-nav button.primary').isEnabled());
  await shot('04-permissions');
  await next();
});

test('step 4*: the zones the token can see', async () => {
  await step('enumerate').locator('table.zones tbody tr').first().waitFor();
  assert.equal(await page.locator('table.accounts').count(), 1);
  await shot('04s-zones');
  await next();
});

test('step 5: saved; the list shows the expiry and the rotation reminder, never the token', async () => {
  await step('connect').waitFor();
  assert.ok((await page.textContent('[data-step=connect]')).includes(token.id));
  await shot('05-connect');
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
  await notInPage(token.value, 'step 5');
  await page.click('button:has-text("Go to the integrations list")');
  const card = page.locator('[data-view=integrations] .card[data-kind=cloud_cloudflare]');
  await card.waitFor();
  assert.equal(await card.locator('[data-meta=token_id] dd').textContent(), token.id);
  assert.match(await card.locator('[data-meta=expires_on] dd').textContent(), /^\d{4}-\d{2}-\d{2}T/);
  assert.equal(await card.locator('[data-rotation]').getAttribute('data-rotation'), 'ok');
  assert.match(await card.locator('[data-rotation]').textContent(), /expires on \d{4}-\d{2}-\d{2}/);
  await notInPage(token.value, 'the integrations list');
  await shot('06-integrations');
});

test('canaries: the token and the Global API keys are in no file the proxy or the peers wrote', () => {
  const files = filesUnder(SCAN_DIR);
  const texts = files.map((f) => [f, readFileSync(f).toString('latin1')]);
  // The scan can fail: it reads the database (and its journal) with this
  // organisation's audit rows and the store the token was saved in, and
  // the proxy's log.
  const named = (prefix) => texts.filter(([f]) => path.basename(f).startsWith(prefix)).map(([, t]) => t).join('');
  assert.ok(named('alphaswarm.db').includes(ORG), 'the database has this run');
  assert.ok(named('proxy.out').includes('listening on'), "the proxy's log is read");
  for (const secret of [token.value, ...GLOBAL_KEYS]) {
    const leaks = texts.filter(([, t]) => t.includes(secret)).map(([f]) => path.relative(SCAN_DIR, f));
    assert.deepEqual(leaks, [], 'a secret was written in clear');
  }
});

test('no uncaught page errors', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, [], 'the page ran nothing the Content-Security-Policy forbids');
});
