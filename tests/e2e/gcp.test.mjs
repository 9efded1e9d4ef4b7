// End to end: the GCP wizard in Debian's Chromium against the proxy at
// E2E_BASE_URL, whose STS, IAM Credentials, Resource Manager and Compute are
// the loopback fake of alphaswarm-fakes (started by
// proxy/examples/e2e_peers.rs). The fake fetches the proxy's discovery
// document and JWKS over HTTP and checks every assertion against the pool,
// provider and bindings of the workload_identity_federation.json the wizard
// showed (applied through POST <control>/gcp/apply, as running the rendered
// gcloud commands would).
//
// One organisation connects its project through all five steps, after a
// project id pasted into the number field (refused as it is typed) and a
// wrong project number (Google finds no provider: the error at the number);
// a project role the customer left out shows red at step 4 until the fix
// shown there has run.
// A second organisation's customer widens the binding to the whole pool and
// drops the provider's condition: an assertion for another organisation then
// gets in, and step 3 says so at the service account and stays closed.
//
// Env: E2E_BASE_URL, E2E_PASSWORD, E2E_TOTP_SECRET, E2E_USERNAME (default
// admin), E2E_GCP_CONTROL_URL and E2E_GCP_PROJECTS (JSON: [{id, number}], two
// of them). scripts/test-web.sh sets them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DEVELOPER_WORDS as HTTP_WORDS, logIn, openPage, requireEnv, wizardHelpers } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_TOTP_SECRET');
const CONTROL = requireEnv('E2E_GCP_CONTROL_URL').replace(/\/$/, '');
const [PROJECT, OTHER] = JSON.parse(requireEnv('E2E_GCP_PROJECTS'));
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const RUN = Date.now().toString(36);
const STEP_TIMEOUT = 60_000;
const CONFIG_FILE = 'workload_identity_federation.json';
// What an operator must never read in an error: HTTP verbs and statuses,
// header names, the API's field names, character positions.
const DEVELOPER_WORDS = new RegExp(String.raw`\b(${HTTP_WORDS}|project_id|project_number|service_account_email)\b|position \d`);

let browser, page;
const pageErrors = [];
const cspViolations = [];

before(async () => {
  ({ browser, page } = await openPage({ shots: SHOTS, timeout: STEP_TIMEOUT, pageErrors, cspViolations }));
});

after(async () => {
  await browser?.close();
});

const { checkpoint, step, next, stepUpIfAsked } = wizardHelpers(() => page, { shots: SHOTS, totpSecret: TOTP_SECRET });
const shot = (name) => checkpoint(`gcp-${name}`);

/** The customer's set-up: the rendered config (text), as gcloud would apply it. */
async function apply(config) {
  const r = await fetch(`${CONTROL}/gcp/apply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config }),
  });
  assert.equal(r.status, 204, `the fake refused the set-up: ${r.status === 204 ? '' : (await r.json()).error}`);
}

/** The error `code`, shown once, next to `field`'s input, in an operator's words. */
async function errorShownOnce(code, field) {
  const where = `#${field}-error .field-error[data-code=${code}]`;
  await page.locator(where).waitFor({ timeout: STEP_TIMEOUT });
  assert.equal(await page.locator(`[data-code=${code}]`).count(), 1, `${code} shows once`);
  assert.equal(await page.locator('.banner.error').count(), 0, `${code} is not in the banner too`);
  assert.equal(await page.getAttribute(`#${field}`, 'aria-invalid'), 'true');
  const words = await page.textContent(where);
  assert.doesNotMatch(words, DEVELOPER_WORDS, `${code}: ${words}`);
  return words;
}

async function openWizard(org) {
  await page.click('nav[aria-label=Main] >> text=Organisations');
  await page.fill('#org_id', org);
  await page.keyboard.press('Enter');
  await page.locator('[data-empty=integrations]').waitFor();
  await page.click('button:has-text("Connect a cloud account")');
  await step('choose').waitFor();
  await page.locator('#cloud-gcp:not([disabled])').waitFor();
  await page.check('#cloud-gcp');
  assert.equal(await page.getAttribute('[data-cloud]', 'data-cloud'), 'gcp');
}

/** Step 2 for `project`: renders and returns the config file the page shows. */
async function render(project) {
  await page.fill('#project_id', project.id);
  await page.fill('#project_number', project.number);
  await page.click('[data-step=bootstrap] button[type=submit]');
  const file = page.locator(`[data-file="${CONFIG_FILE}"] pre`);
  await file.waitFor();
  return file.textContent();
}

test('log in', async () => {
  await logIn(page, BASE, { username: USERNAME, password: PASSWORD });
});

const ORG = `gcp-${RUN}`;

test('step 1 offers Google Cloud', async () => {
  await openWizard(ORG);
  await shot('01-choose');
  await next();
});

test('step 2 tells the project id from the number as you type, then renders a set-up that applies', async () => {
  await step('bootstrap').waitFor();
  assert.equal(await page.locator('.artifacts').count(), 0, 'nothing renders before the project is named');
  // The classic paste: the project id where the number belongs.
  await page.fill('#project_number', PROJECT.id);
  const words = await errorShownOnce('invalid_gcp_project_number', 'project_number');
  assert.match(words, /Project number/);
  assert.match(words, /looks like the project id/);
  await shot('02b-id-in-number-field');
  const config = await render(PROJECT);
  assert.equal(await page.locator('#project_number-error .field-error').count(), 0);
  const commands = await page.locator('[data-step=bootstrap] .commands li pre').allTextContents();
  for (const command of ['gcloud iam service-accounts create', 'gcloud iam workload-identity-pools create',
    'gcloud iam workload-identity-pools providers create-oidc', 'gcloud iam service-accounts add-iam-policy-binding']) {
    assert.ok(commands.some((c) => c.startsWith(command)), `${command} in:\n${commands.join('\n')}`);
  }
  // The binding names this organisation's subject exactly, never the pool.
  const parsed = JSON.parse(config);
  assert.match(parsed.serviceAccountBinding.member, new RegExp(`^principal://iam\\.googleapis\\.com/projects/${PROJECT.number}/.*/subject/org:${ORG}$`));
  assert.equal(parsed.provider.attributeCondition, `assertion.sub=='org:${ORG}'`);
  await shot('02-bootstrap');
  // The customer skips the security reviewer role (step 4 finds it) and
  // grants Compute's viewer role too (step 4* lists regions).
  const member = parsed.projectBindings[0].member;
  assert.match(member, new RegExp(`^serviceAccount:alphaswarm-${ORG}@${PROJECT.id}\\.iam\\.gserviceaccount\\.com$`));
  assert.deepEqual(parsed.projectBindings.map((b) => b.role), ['roles/browser', 'roles/iam.securityReviewer']);
  parsed.projectBindings = [{ role: 'roles/browser', member }, { role: 'roles/compute.viewer', member }];
  await apply(JSON.stringify(parsed));
  await next();
});

test('step 3 puts a wrong project number at its field, then proves the project isolated', async () => {
  await step('identity').waitFor();
  assert.equal(await page.inputValue('#project_id'), PROJECT.id, 'step 2 values carry over');
  // Another project's number: Google finds no such provider.
  await page.fill('#project_number', OTHER.number);
  await page.click('[data-step=identity] button[type=submit]');
  await errorShownOnce('wif_provider_unavailable', 'project_number');
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'no step 4 without an identity');
  await shot('03b-wrong-project-number');
  await page.fill('#project_number', PROJECT.number);
  await page.click('[data-step=identity] button[type=submit]');
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  assert.equal(await page.getAttribute('.deputy', 'data-safe'), 'true');
  assert.equal(await page.textContent('.deputy .badge'), 'Project isolated');
  const result = await page.textContent('[data-result=identity]');
  assert.ok(result.includes(`alphaswarm-${ORG}@${PROJECT.id}.iam.gserviceaccount.com`), result);
  assert.ok(result.includes(`subject/org:${ORG}`), result);
  await shot('03-identity-isolated');
  await next();
});

test('step 4 shows the missing role\'s permissions red with the fix, then green once it ran', async () => {
  await step('permissions').locator('.checks').waitFor();
  const red = page.locator('.checks li[data-granted=false]');
  assert.ok((await red.count()) > 0, 'the security reviewer role was not granted');
  assert.equal(await red.first().locator('.badge.missing').textContent(), 'Missing required');
  assert.match(await red.first().textContent(), /roles\/iam\.securityReviewer/);
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'cannot continue without it');
  const fixes = await page.locator('[data-fix=permissions] .artifact pre').allTextContents();
  assert.equal(fixes.length, 2, 'bash and PowerShell');
  const [fix] = fixes;
  assert.match(fix, /^gcloud projects add-iam-policy-binding/);
  await shot('04b-permissions-missing');
  // The customer runs the fix as shown.
  const grant = {
    project: fix.match(/^\s+(\S+) \\$/m)[1],
    member: fix.match(/--member=(\S+)/)[1],
    role: fix.match(/--role=(\S+)/)[1],
  };
  assert.deepEqual(grant, { project: PROJECT.id, member: `serviceAccount:alphaswarm-${ORG}@${PROJECT.id}.iam.gserviceaccount.com`, role: 'roles/iam.securityReviewer' });
  const r = await fetch(`${CONTROL}/gcp/grant`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(grant),
  });
  assert.equal(r.status, 204);
  await page.click('button:has-text("Check again")');
  await red.first().waitFor({ state: 'detached' });
  assert.ok(await page.locator('.step-nav button.primary').isEnabled());
  const get = page.locator('.checks li[data-action="resourcemanager.projects.get"]');
  assert.equal(await get.locator('.badge.ok').textContent(), 'Granted');
  await shot('04-permissions');
  await next();
});

test('step 4* lists the Compute regions', async () => {
  await step('enumerate').locator('table.regions tbody tr').first().waitFor();
  assert.ok((await page.locator('table.regions tbody tr').count()) > 0);
  await shot('04s-regions');
  await next();
});

test('step 5 saves, and the project is listed', async () => {
  await step('connect').waitFor();
  assert.ok((await page.textContent('[data-step=connect]')).includes(PROJECT.number));
  await shot('05-connect');
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
  await page.click('button:has-text("Go to the integrations list")');
  const card = page.locator('[data-view=integrations] .card[data-kind=cloud_gcp]');
  await card.waitFor();
  assert.ok((await card.textContent()).includes(PROJECT.id));
  await shot('06-integrations');
});

test('a pool-wide binding without the condition is found at step 3, at the service account', async () => {
  const org = `gcp-wide-${RUN}`;
  await openWizard(org);
  await next();
  await step('bootstrap').waitFor();
  const config = JSON.parse(await render(OTHER));
  // The old, unsafe set-up: every identity of the pool may impersonate.
  config.serviceAccountBinding.member = config.serviceAccountBinding.member
    .replace(/^principal:/, 'principalSet:')
    .replace(/\/subject\/.*$/, '/*');
  delete config.provider.attributeCondition;
  await apply(JSON.stringify(config));
  await next();
  await step('identity').waitFor();
  await page.click('[data-step=identity] button[type=submit]');
  const words = await errorShownOnce('identity_not_isolated', 'service_account_email');
  assert.match(words, /principal:\/\//, 'the fix names the exact member');
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'step 4 stays closed');
  await shot('03c-not-isolated');
});

test('no uncaught page errors', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, [], 'the page ran nothing the Content-Security-Policy forbids');
});
