// End to end in sandbox mode: the proxy started as the run command starts it
// without any cloud configuration (ALPHASWARM_ADMIN_SANDBOX=1, every cloud a
// loopback fake inside the proxy). A new operator logs in, steps up and
// connects AWS with nothing else set up: "Apply in the sandbox" plays the
// customer's administrator. One broken-on-purpose set-up (a trust policy
// with another organisation's external id) shows its message next to the
// role ARN field. Screenshots at 1280 and 390 px (no sideways scrolling),
// axe on each.
//
// Env: E2E_SANDBOX_URL, E2E_SANDBOX_PASSWORD, E2E_SANDBOX_TOTP_SECRET
// (scripts/test-web.sh starts that proxy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPage, requireEnv, wizardHelpers } from './lib.mjs';

const BASE = requireEnv('E2E_SANDBOX_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_SANDBOX_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_SANDBOX_TOTP_SECRET');
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const ORG = `sandbox-${Date.now().toString(36)}`;

let browser, page;
const cspViolations = [];
const pageErrors = [];
const { checkpoint, stepUpIfAsked, step, next } = wizardHelpers(() => page, {
  shots: SHOTS,
  totpSecret: TOTP_SECRET,
  stepUpShot: 'sandbox-03a-step-up',
});

before(async () => {
  ({ browser, page } = await openPage({ shots: SHOTS, timeout: 60_000, pageErrors, cspViolations }));
});

after(async () => {
  await browser?.close();
});

/** Picks how "Apply in the sandbox" applies step 2, applies, waits for its answer. */
async function applyInSandbox(how) {
  const panel = page.locator('[data-sandbox-apply=aws]');
  await panel.waitFor();
  await page.selectOption('#sandbox-break', how);
  const answered = page.waitForResponse((r) => r.url().endsWith('/sandbox-apply'));
  await panel.locator('[data-action=sandbox-apply]').click();
  assert.equal((await answered).status(), 200);
  await panel.locator('[data-result=sandbox-applied]').waitFor();
}

test('the sandbox banner shows before anyone logs in', async () => {
  await page.goto(BASE + '/');
  await page.locator('[data-view=login]').waitFor();
  const banner = page.locator('[data-sandbox=on]');
  await banner.waitFor();
  assert.match(await banner.textContent(), /Sandbox — clouds are simulated on this machine/);
  await checkpoint('sandbox-00-login');
  await page.fill('#username', 'admin');
  await page.fill('#password', PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('[data-view=orgs]').waitFor();
  await page.fill('#org_id', ORG);
  await page.keyboard.press('Enter');
  await page.locator('[data-empty=integrations]').waitFor();
  assert.ok(await banner.isVisible(), 'the banner stays after logging in');
});

test('step 2 renders and offers "Apply in the sandbox"', async () => {
  await page.click('button:has-text("Connect a cloud account")');
  await step('choose').waitFor();
  await page.locator('#cloud-aws:not([disabled])').waitFor();
  await page.check('#cloud-aws');
  await next();
  await step('bootstrap').locator('.artifacts').waitFor();
  await page.locator('[data-sandbox-apply=aws]').waitFor();
  await checkpoint('sandbox-02-bootstrap');
});

test('broken on purpose: a wrong external id is explained next to the role ARN', async () => {
  await applyInSandbox('wrong_external_id');
  await next();
  await step('identity').waitFor();
  // The sandbox filled in the ARN of the role it created.
  const arn = await page.inputValue('#role_arn');
  assert.match(arn, /^arn:aws:iam::210987654321:role\//);
  await page.click('[data-step=identity] button[type=submit]');
  await stepUpIfAsked();
  const error = page.locator('#role_arn-error .field-error[data-code=assume_role_access_denied]');
  await error.waitFor();
  assert.match(await error.textContent(), /external id/i);
  assert.equal(await page.getAttribute('#role_arn', 'aria-invalid'), 'true');
  await checkpoint('sandbox-03b-identity-broken');
});

test('applied as rendered, AWS connects end to end', async () => {
  await page.click('.step-nav button:has-text("Back")');
  await step('bootstrap').waitFor();
  await applyInSandbox('');
  await next();
  await step('identity').waitFor();
  await page.click('[data-step=identity] button[type=submit]');
  await stepUpIfAsked();
  await page.locator('[data-result=identity]').waitFor();
  assert.equal(await page.getAttribute('.deputy', 'data-safe'), 'true');
  await checkpoint('sandbox-03-identity');
  await next();
  await step('permissions').locator('.checks').waitFor();
  assert.equal(await page.locator('.checks li[data-granted=false]').count(), 0);
  await next();
  await step('enumerate').locator('table.regions tbody tr').first().waitFor();
  await next();
  await step('connect').waitFor();
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
  await checkpoint('sandbox-05-connected');
});

test('connecting again asks before replacing', async () => {
  // A second save is refused until the operator confirms the replacement.
  await page.click('button:has-text("Go to the integrations list")');
  await page.locator('[data-view=integrations] .card[data-kind=cloud_aws]').waitFor();
  await page.click('button:has-text("Connect a cloud account")');
  await page.check('#cloud-aws');
  await next();
  await step('bootstrap').locator('.artifacts').waitFor();
  await applyInSandbox('');
  for (const slug of ['identity', 'permissions', 'enumerate']) {
    await next();
    await step(slug).waitFor();
    if (slug === 'identity') {
      await page.click('[data-step=identity] button[type=submit]');
      await stepUpIfAsked();
      await page.locator('[data-result=identity]').waitFor();
    }
  }
  await next();
  await step('connect').waitFor();
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked();
  const confirm = page.locator('[data-confirm=replace]');
  await confirm.waitFor();
  await checkpoint('sandbox-05b-replace-confirm');
  await confirm.locator('[data-action=replace]').click();
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
});

test('no page errors and no CSP violations', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});
