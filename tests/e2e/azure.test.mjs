// End to end: the Azure wizard in Debian's Chromium against the proxy at
// E2E_BASE_URL, whose Entra ID and Azure Resource Manager are the loopback
// fake of alphaswarm-fakes (started by proxy/examples/e2e_peers.rs). The
// fake fetches the proxy's discovery document and JWKS over HTTP and checks
// every assertion against federated credentials made by running the `az`
// commands the wizard showed (POST <control>/az), as the customer would.
//
// Both modes, five steps each: the customer-managed identity (recommended,
// isolated) driven from the keyboard only; the shared app with the consent
// missing first (the error at the tenant id), then a missing role (red,
// its fix run as shown, then green) and the "not isolated" verdict.
//
// Env: E2E_BASE_URL, E2E_PASSWORD, E2E_TOTP_SECRET, E2E_USERNAME (default
// admin), E2E_AZURE_CONTROL_URL and E2E_AZURE_TENANTS (JSON: [{tenant,
// subscription, name}], two of them). scripts/test-web.sh sets them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DEVELOPER_WORDS as HTTP_WORDS, logIn, openPage, requireEnv, tabTo, wizardHelpers } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_TOTP_SECRET');
const CONTROL = requireEnv('E2E_AZURE_CONTROL_URL').replace(/\/$/, '');
const [MI, SHARED] = JSON.parse(requireEnv('E2E_AZURE_TENANTS'));
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const RUN = Date.now().toString(36);
const STEP_TIMEOUT = 60_000;
// What an operator must never read in an error: lib.mjs's words and the
// API's field names.
const DEVELOPER_WORDS = new RegExp(String.raw`\b(${HTTP_WORDS}|tenant_id|subscription_id|client_id|managed_identity|shared_app)\b|position \d`);

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
const shot = (name) => checkpoint(`azure-${name}`);

/** One rendered bash `az` command, run by the fake as `who`. */
async function az(command, { who = 'customer', tenant, subscription, files = {} }) {
  const r = await fetch(`${CONTROL}/az`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ as: who, tenant, subscription, command, files }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, `az refused ${command}: ${body.error}`);
  return body.stdout;
}

/** The bash commands step 2 shows, as the operator copies them. */
const shownCommands = () => page.locator('[data-step=bootstrap] .commands li pre').allTextContents();

/** Keyboard only: Tab to `selector`, then press `key`. */
async function press(selector, key = 'Enter') {
  await tabTo(page, selector);
  await page.keyboard.press(key);
}

/** Next from the keyboard, answering the step-up prompt if it comes. */
async function nextByKeyboard() {
  await press('.step-nav button.primary:not([disabled])');
  await stepUpIfAsked();
}

test('log in', async () => {
  await logIn(page, BASE, { username: USERNAME, password: PASSWORD });
});

test('managed identity, keyboard only: step 1 chooses Azure with the arrow keys', async () => {
  await openWizard(`az-mi-${RUN}`);
  await tabTo(page, '#cloud-aws');
  await page.keyboard.press('ArrowDown');
  assert.ok(await page.isChecked('#cloud-azure'));
  assert.equal(await page.getAttribute('[data-cloud]', 'data-cloud'), 'azure');
  assert.match(new URL(page.url()).hash, /\/connect\/azure$/);
  await shot('01-choose');
  await nextByKeyboard();
});

let clientId;

test('managed identity: step 2 recommends the identity, checks GUIDs as you type, renders commands that run', async () => {
  await step('bootstrap').locator('.artifacts').waitFor();
  assert.ok(await page.isChecked('#mode-managed_identity'), 'the recommended mode is the default');
  assert.equal(await page.textContent('[data-mode=managed_identity] .badge'), 'Recommended');
  // As you type: the core's GUID check, next to the field, in plain words.
  await tabTo(page, '#tenant_id');
  await page.keyboard.type('not-a-tenant');
  const words = await errorShownOnce('invalid_guid', 'tenant_id');
  assert.match(words, /Tenant id/);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(MI.tenant.toUpperCase());
  assert.equal(await page.locator('#tenant_id-error .field-error').count(), 0, 'any case is a GUID');
  await tabTo(page, '#subscription_id');
  await page.keyboard.type(MI.subscription);
  await page.keyboard.press('Enter'); // renders again with the ids
  await page.locator('[data-step=bootstrap] [data-value=subscription_id] dd code', { hasText: MI.subscription }).waitFor();
  assert.equal(await page.locator('.banner.warn [data-code=tenant_not_isolated]').count(), 0);
  const commands = await shownCommands();
  assert.ok(commands.some((c) => c.startsWith('az identity federated-credential create')), commands.join('\n'));
  await shot('02-bootstrap-managed-identity');
  // The customer runs them; the last prints the identity's client id.
  let out = '';
  for (const command of commands) out = await az(command, MI);
  clientId = out.trim();
  assert.match(clientId, /^[0-9a-f-]{36}$/);
  await nextByKeyboard();
});

test('managed identity: step 3 puts a wrong client id at its field, then proves isolation', async () => {
  await step('identity').waitFor();
  assert.equal(await page.inputValue('#tenant_id'), MI.tenant.toUpperCase(), 'step 2 ids carry over');
  await tabTo(page, '#client_id');
  await page.keyboard.type('0bad0bad-0000-4000-8000-000000000000');
  await page.keyboard.press('Enter');
  await errorShownOnce('identity_not_found', 'client_id');
  await shot('03b-identity-not-found');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(clientId);
  await page.keyboard.press('Enter');
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  // Another subject's assertion was refused: the identity trusts this org only.
  assert.equal(await page.getAttribute('.deputy', 'data-safe'), 'true');
  assert.equal(await page.textContent('.deputy .badge'), 'Tenant isolated');
  const result = await page.textContent('[data-result=identity]');
  assert.ok(result.includes(MI.name) && result.includes(`org:az-mi-${RUN}`), result);
  await shot('03-identity-isolated');
  await nextByKeyboard();
});

test('managed identity: step 4 badges each role and permission', async () => {
  await step('permissions').locator('.checks').first().waitFor();
  assert.equal(await page.locator('.checks li[data-granted=false]').count(), 0);
  const reader = page.locator('.checks li[data-granted=true]', { hasText: 'Reader' }).first();
  assert.equal(await reader.locator('.badge.ok').count(), 1);
  assert.ok((await page.locator('.checks .badge.ok').count()) >= 4, 'Reader and three permissions');
  await shot('04-permissions');
  await nextByKeyboard();
});

test('managed identity: step 4* lists the resource groups and locations', async () => {
  await step('enumerate').locator('table.resource-groups tbody tr', { hasText: 'alphaswarm-broker' }).waitFor();
  assert.ok((await page.locator('table.locations tbody tr').count()) > 0);
  await shot('04s-resources');
  await nextByKeyboard();
});

test('managed identity: step 5 saves, and the connection is listed', async () => {
  await step('connect').waitFor();
  assert.ok((await page.textContent('[data-step=connect]')).includes(clientId));
  await shot('05-connect');
  await press('[data-step=connect] > button.primary'); // Save connection
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
  await press('[data-step=connect] > button.primary'); // Go to the integrations list
  const card = page.locator('[data-view=integrations] .card[data-kind=cloud_azure]');
  await card.waitFor();
  assert.ok((await card.textContent()).includes(MI.subscription));
  assert.equal(await card.locator('[data-meta=mode] dd').textContent(), 'Customer-managed identity');
  await shot('06-integrations');
});

let sharedBundle;

test('shared app: step 2 says the tenant is not isolated and offers the consent link', async () => {
  await openWizard(`az-shared-${RUN}`);
  await page.check('#cloud-azure');
  await next();
  await step('bootstrap').locator('.artifacts').waitFor();
  await page.check('#mode-shared_app');
  await page.locator('.banner.warn [data-code=tenant_not_isolated]').waitFor();
  assert.equal(await page.locator('#client_id, #resource_group').count(), 0, 'no identity to create or name');
  await page.fill('#tenant_id', SHARED.tenant);
  await page.fill('#subscription_id', SHARED.subscription);
  // The role the customer grants: one that reads, but not the baseline.
  await page.fill('#role', 'Monitoring Reader');
  await page.click('[data-step=bootstrap] button[type=submit]');
  await page.locator('[data-link=admin_consent] a').waitFor();
  await page.locator('[data-step=bootstrap] [data-value=subscription_id] dd code', { hasText: SHARED.subscription }).waitFor();
  sharedBundle = {
    commands: await shownCommands(),
    credential: await page.textContent('[data-file="federated_credential.json"] pre'),
    consent: await page.getAttribute('[data-link=admin_consent] a', 'href'),
  };
  await shot('02-bootstrap-shared-app');
  // AlphaSwarm's side: the org's federated credential on the shared app.
  const [credential, ...customerSide] = sharedBundle.commands;
  assert.match(credential, /^az ad app federated-credential create/);
  await az(credential, { who: 'platform', files: { 'federated_credential.json': sharedBundle.credential } });
  sharedBundle.customerSide = customerSide;
  await next();
});

test('shared app: step 3 shows a missing consent at the tenant id, then "not isolated"', async () => {
  await step('identity').waitFor();
  assert.equal(await page.locator('#client_id').count(), 0);
  assert.equal(await page.getAttribute('[data-consent] a', 'href'), sharedBundle.consent);
  await page.click('[data-step=identity] button[type=submit]');
  await errorShownOnce('admin_consent_missing', 'tenant_id');
  await shot('03b-consent-missing');
  // The administrator consents (the link), then grants the role as shown.
  const consent = await fetch(`${CONTROL}/admin-consent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: sharedBundle.consent }),
  });
  assert.equal(consent.status, 204);
  for (const command of sharedBundle.customerSide) await az(command, SHARED);
  await page.click('[data-step=identity] button[type=submit]');
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  assert.equal(await page.getAttribute('.deputy', 'data-safe'), 'false');
  assert.equal(await page.textContent('.deputy .badge'), 'Tenant not isolated');
  assert.doesNotMatch(await page.textContent('.deputy'), DEVELOPER_WORDS);
  assert.ok(await page.locator('.step-nav button.primary').isEnabled(), 'said plainly, and the operator may go on');
  await shot('03-identity-not-isolated');
  await next();
});

test('shared app: step 4 shows the missing role red with its fix, then green once it ran', async () => {
  const missing = page.locator('.checks li[data-granted=false]', { hasText: 'Reader' });
  await missing.first().waitFor();
  assert.equal(await missing.first().locator('.badge.missing').textContent(), 'Missing required');
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'cannot continue without the role');
  const [fix] = await page.locator('[data-fix=permissions] .artifact pre').allTextContents();
  assert.match(fix, /^az role assignment create/);
  await shot('04b-permissions-missing');
  await az(fix, SHARED);
  await page.click('button:has-text("Check again")');
  await page.locator('.checks li[data-granted=false]').first().waitFor({ state: 'detached' });
  assert.ok(await page.locator('.step-nav button.primary').isEnabled());
  await shot('04c-permissions-granted');
  await next();
});

test('shared app: steps 4* and 5 connect the subscription', async () => {
  await step('enumerate').locator('table.locations tbody tr').first().waitFor();
  await next();
  await step('connect').waitFor();
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
  await page.click('button:has-text("Go to the integrations list")');
  await page.locator('[data-view=integrations] .card[data-kind=cloud_azure]').waitFor();
});

test('no uncaught page errors', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, [], 'the page ran nothing the Content-Security-Policy forbids');
});
