// End to end: an organisation's account integrations in Debian's Chromium
// against the proxy at E2E_BASE_URL, whose HuggingFace and Docker Hub are
// the loopback fakes of alphaswarm-fakes (started by
// proxy/examples/e2e_peers.rs). Tokens are minted by the fakes
// (POST <control>/accounts/<product>/issue), as the user would in each
// product's settings, and are canaries: after the run none of them is in
// the page or in anything the proxy and the peers wrote (logs, audit trail,
// the store's file, which holds them encrypted).
//
// Connect HuggingFace (a refused token first, shown at its field), connect
// Docker Hub, Re-check both (healthy), revoke the Docker Hub token in the
// fake, Re-check: unhealthy, with the reason in an operator's words.
//
// Env: E2E_BASE_URL, E2E_PASSWORD, E2E_TOTP_SECRET, E2E_USERNAME (default
// admin), E2E_ACCOUNTS_CONTROL_URL, E2E_SECRET_SCAN_DIR. scripts/test-web.sh sets them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEVELOPER_WORDS as HTTP_WORDS, checkpoint, filesUnder, logIn, openPage, requireEnv, totp } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_TOTP_SECRET');
const CONTROL = requireEnv('E2E_ACCOUNTS_CONTROL_URL').replace(/\/$/, '');
const WORK_DIR = requireEnv('E2E_SECRET_SCAN_DIR');
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const ORG = `accounts-${Date.now().toString(36)}`;
// What an operator must never read: HTTP verbs and statuses, header names,
// the API's field names, character positions.
const DEVELOPER_WORDS = new RegExp(String.raw`\b(${HTTP_WORDS}|whoami|pat|401|403|422)\b|position \d`);

let browser, page;
const pageErrors = [];
const cspViolations = [];
/** Every token this run typed into the page. */
const canaries = [];

before(async () => {
  ({ browser, page } = await openPage({ shots: SHOTS, timeout: 60_000, pageErrors, cspViolations }));
});

after(async () => {
  await browser?.close();
});

const shot = (name) => checkpoint(page, SHOTS, `accounts-${name}`);

/** The fake mints (`issue`) or revokes a token of its one user. */
async function control(product, action, token) {
  const r = await fetch(`${CONTROL}/accounts/${product}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.ok(r.ok, `${product} ${action}: ${r.status}`);
  if (action !== 'issue') return undefined;
  const { token: issued } = await r.json();
  canaries.push(issued);
  return issued;
}

/** Waits for `outcome` (a visible selector) after an action, answering the
 * step-up prompt first when it came (a TOTP code is accepted once: a refused
 * code waits for the next window). */
async function afterStepUp(outcome) {
  const prompt = page.locator('[data-view=step-up]');
  await page.locator(`[data-view=step-up], ${outcome}`).first().waitFor();
  if (await prompt.isVisible()) {
    for (let attempt = 0; ; attempt++) {
      await page.fill('#code', totp(TOTP_SECRET));
      await page.keyboard.press('Enter');
      try {
        await prompt.waitFor({ state: 'detached', timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt > 0) throw e;
        await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 500);
      }
    }
  }
  await page.locator(outcome).first().waitFor();
}

const form = (kind) => page.locator(`form[data-account=${kind}]`);
const row = (kind) => page.locator(`[data-view=accounts] li:has(article[data-kind=${kind}])`);

/** The connection's health as the row shows it after a Re-check. */
async function recheck(kind, expected) {
  await row(kind).getByRole('button', { name: /^Re-check/ }).click();
  await afterStepUp(`[data-view=accounts] li:has(article[data-kind=${kind}]) [data-health=${expected}]`);
  return row(kind).locator('.health');
}

test('HuggingFace and Docker Hub connect, show their health and turn unhealthy when revoked', async () => {
  await logIn(page, BASE, { username: USERNAME, password: PASSWORD });
  await page.fill('#org_id', ORG);
  await page.keyboard.press('Enter');
  await page.locator('[data-view=accounts] [data-empty=accounts]').waitFor();

  // HuggingFace: a well-formed token HuggingFace does not know first. The
  // refusal shows at the token's input, the input is empty again.
  await page.getByRole('button', { name: 'Connect HuggingFace' }).click();
  const hf = form('huggingface');
  assert.equal(await hf.locator('#token').getAttribute('type'), 'password');
  const unknown = 'hf_' + 'Zq7'.repeat(11) + 'x';
  canaries.push(unknown);
  await hf.locator('#token').fill(unknown);
  await hf.locator('#namespace').fill('acme-quant');
  await hf.getByRole('button', { name: 'Check and save' }).click();
  await afterStepUp('#token-error .field-error[data-code=huggingface_token_refused]');
  assert.equal(await hf.locator('#token').inputValue(), '', 'the token is cleared once sent');
  assert.equal(await hf.locator('#token').getAttribute('aria-invalid'), 'true');
  const refused = await hf.locator('#token-error').innerText();
  assert.doesNotMatch(refused, DEVELOPER_WORDS, refused);
  assert.equal(await page.locator('[role=alert]').count(), 0, 'the error shows once, at its field');
  await shot('hf-refused');

  const hfToken = await control('huggingface', 'issue');
  await hf.locator('#token').fill(hfToken);
  await hf.getByRole('button', { name: 'Check and save' }).click();
  await afterStepUp('form[data-account=huggingface] [data-result=account-connected]');
  assert.match(await hf.locator('[data-result=account-connected]').innerText(), /namespace acme-quant/);
  assert.equal(await hf.locator('#token').inputValue(), '');
  assert.equal(await hf.locator('#namespace').inputValue(), '', 'the form is empty after a connect');
  await row('huggingface').locator('[data-health=never]').waitFor();
  assert.equal(await row('huggingface').locator('.badge.health-never').innerText(), 'Never checked');

  // Docker Hub: Docker ID + access token, the namespace left to default.
  await page.getByRole('button', { name: 'Connect Docker Hub' }).click();
  const docker = form('docker_hub');
  assert.equal(await docker.locator('#pat').getAttribute('type'), 'password');
  const pat = await control('dockerhub', 'issue');
  await docker.locator('#username').fill('acmeops');
  await docker.locator('#pat').fill(pat);
  await docker.getByRole('button', { name: 'Check and save' }).click();
  await afterStepUp('form[data-account=docker_hub] [data-result=account-connected]');
  assert.match(await docker.locator('[data-result=account-connected]').innerText(), /namespace acmeops/);
  assert.equal(await docker.locator('#pat').inputValue(), '');
  await row('docker_hub').locator('[data-health=never]').waitFor();
  await shot('connected');

  // Re-check: both healthy, with the time of the check.
  for (const kind of ['huggingface', 'docker_hub']) {
    const health = await recheck(kind, 'healthy');
    assert.equal(await health.locator('.badge').innerText(), 'Healthy');
    assert.ok(await health.locator('time[datetime]').count(), `${kind}: checked at`);
  }

  // The token is deleted in Docker Hub's settings: the next Re-check says
  // unhealthy, with the reason and what to do.
  await control('dockerhub', 'revoke', pat);
  const health = await recheck('docker_hub', 'failed');
  assert.equal(await health.locator('.badge').innerText(), 'Unhealthy');
  const reason = await health.locator('.field-error').innerText();
  assert.match(reason, /Docker Hub refused/, reason);
  assert.match(reason, /access token/, reason);
  assert.doesNotMatch(reason, DEVELOPER_WORDS, reason);
  assert.equal(await row('huggingface').locator('[data-health=healthy]').count(), 1, 'the other row is untouched');
  await shot('unhealthy');

  // After a reload the list still says so (the verdict is on the record).
  await page.reload();
  await row('docker_hub').locator('[data-health=failed]').waitFor();

  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});

test('no token is in the page or in anything the proxy and the peers wrote', async () => {
  assert.equal(canaries.length, 3, 'the first test minted and typed its tokens');
  const html = await page.content();
  const values = await page.locator('input').evaluateAll((inputs) => inputs.map((i) => i.value).join('\n'));
  const files = filesUnder(WORK_DIR);
  const names = files.map((f) => path.basename(f));
  // The database holds the audit trail and the store.
  for (const expected of ['alphaswarm.db', 'proxy.out', 'proxy.err', 'peers.err']) {
    assert.ok(names.includes(expected), `${expected} is among the scanned files: ${names}`);
  }
  for (const token of canaries) {
    assert.ok(!html.includes(token), 'a token is in the page');
    assert.ok(!values.includes(token), 'a token is in an input');
    for (const file of files) {
      let text;
      try {
        text = readFileSync(file, 'latin1');
      } catch {
        continue; // a fifo or a file that went away
      }
      assert.ok(!text.includes(token), `a token is in ${path.relative(WORK_DIR, file)}`);
    }
  }
});
