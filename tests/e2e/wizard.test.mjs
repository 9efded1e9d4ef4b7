// End to end: Debian's Chromium (playwright-core) drives the wizard served by
// the proxy at E2E_BASE_URL. Roles are created in moto (E2E_MOTO_URL) by
// running the bash commands the wizard rendered, with the awscli on PATH.
//
// Env: E2E_BASE_URL, E2E_PASSWORD, E2E_TOTP_SECRET (base32), E2E_USERNAME
// (default admin), and either E2E_MOTO_URL (with AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY of a customer-account administrator there: moto runs
// in auth mode) or the three prepared ARNs E2E_ROLE_ARN,
// E2E_WRONG_EXTERNAL_ID_ROLE_ARN, E2E_MISSING_PERMISSION_ROLE_ARN.
// scripts/test-web.sh sets all of it up (proxy, moto, IAM simulation fake).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkpoint as shoot, launch, requireEnv, totp } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_TOTP_SECRET');
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const ORG = `e2e-${Date.now().toString(36)}`;
const STEP_TIMEOUT = 60_000;

let browser, context, page;
const consoleErrors = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
});

/** Screenshots at 1280 px and 390 px wide, then axe on the page. */
const checkpoint = (name) => shoot(page, SHOTS, name);

/** Answers the step-up prompt if it is shown (waits for the next TOTP window when a code was refused). */
async function stepUpIfAsked() {
  const prompt = page.locator('[data-view=step-up]');
  try {
    await prompt.waitFor({ state: 'visible', timeout: 3_000 });
  } catch {
    return false;
  }
  await checkpoint('03a-step-up');
  for (let attempt = 0; attempt < 2; attempt++) {
    await page.fill('#code', totp(TOTP_SECRET));
    await page.keyboard.press('Enter');
    try {
      await prompt.waitFor({ state: 'detached', timeout: 10_000 });
      return true;
    } catch {
      // A code may be accepted once only: wait for the next 30 s window.
      await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 500);
    }
  }
  throw new Error('the step-up prompt did not accept the TOTP code');
}

async function next() {
  await page.click('.step-nav button.primary');
  await stepUpIfAsked();
}

function step(slug) {
  return page.locator(`[data-step=${slug}]`);
}

/** A temp dir and a bash runner there whose awscli talks to moto. */
function motoShell() {
  const dir = mkdtempSync(path.join(tmpdir(), 'alphaswarm-e2e-'));
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: requireEnv('E2E_MOTO_URL'),
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID || 'testing',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY || 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  const run = (script) => execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  return { dir, run };
}

/** Creates the roles in moto by running the rendered bash commands. */
function prepareRoles({ roleName, trustPolicy, bashCommands }) {
  if (!process.env.E2E_MOTO_URL) {
    return {
      good: requireEnv('E2E_ROLE_ARN'),
      wrongExternalId: requireEnv('E2E_WRONG_EXTERNAL_ID_ROLE_ARN'),
      missingPermission: requireEnv('E2E_MISSING_PERMISSION_ROLE_ARN'),
    };
  }
  const { dir, run } = motoShell();
  writeFileSync(path.join(dir, 'trust_policy.json'), trustPolicy);
  // The good role: exactly the rendered IAM commands.
  let arn;
  for (const command of bashCommands.filter((c) => c.startsWith('aws iam'))) {
    const out = run(command);
    if (command.startsWith('aws iam create-role')) arn = JSON.parse(out).Role.Arn;
  }
  assert.ok(arn, 'the rendered commands create the role');
  const policy = JSON.parse(trustPolicy);
  const wrong = structuredClone(policy);
  for (const s of wrong.Statement) {
    if (s.Condition?.StringEquals?.['sts:ExternalId']) s.Condition.StringEquals['sts:ExternalId'] = 'not-the-external-id';
  }
  writeFileSync(path.join(dir, 'wrong_trust_policy.json'), JSON.stringify(wrong));
  const create = (name, file) => JSON.parse(run(`aws iam create-role --role-name '${name}' --assume-role-policy-document 'file://${file}'`)).Role.Arn;
  return {
    good: arn,
    wrongExternalId: create(`${roleName}-wrongxid`.slice(0, 64), 'wrong_trust_policy.json'),
    // Right trust policy, no permissions attached.
    missingPermission: create(`${roleName}-noperm`.slice(0, 64), 'trust_policy.json'),
  };
}

let roles;
let externalIdShown;

test('log in', async () => {
  await page.goto(BASE + '/');
  await page.locator('[data-view=login]').waitFor();
  await checkpoint('00-login');
  await page.fill('#username', USERNAME);
  await page.fill('#password', PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('[data-view=orgs]').waitFor();
});

test('org picker validates as you type', async () => {
  await page.fill('#org_id', 'Acme Corp');
  await assert.doesNotReject(page.locator('#org_id-error .field-error').waitFor());
  assert.equal(await page.getAttribute('#org_id', 'aria-invalid'), 'true');
  assert.ok(await page.locator('[data-view=orgs] button[type=submit]').isDisabled());
  await page.fill('#org_id', ORG);
  assert.equal(await page.locator('#org_id-error .field-error').count(), 0);
  await checkpoint('00b-orgs');
  await page.keyboard.press('Enter');
  await page.locator('[data-empty=integrations]').waitFor();
});

test('settings shows the admin tenant as Cloud connections', async () => {
  await page.click('nav[aria-label=Main] >> text=Settings');
  await page.locator('[data-view=settings] h2', { hasText: 'Cloud connections' }).waitFor();
  await checkpoint('00c-settings');
  await page.click('nav[aria-label=Main] >> text=Organisations');
  await page.fill('#org_id', ORG);
  await page.keyboard.press('Enter');
});

test('step 1: choose AWS', async () => {
  await page.click('button:has-text("Connect a cloud account")');
  await step('choose').waitFor();
  assert.ok(await page.isChecked('#cloud-aws'));
  await checkpoint('01-choose');
  await next();
});

test('step 2: bootstrap artifacts, copy and shell toggle', async () => {
  await step('bootstrap').locator('.artifacts').waitFor();
  // Keyboard users land on the new step's heading.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'step-bootstrap-title');
  const externalId = await page.textContent('[data-value=external_id] dd code');
  const roleName = await page.textContent('[data-value=role_name] dd code');
  assert.ok(externalId.length >= 2 && roleName.length >= 1);
  // Copy puts the exact value on the clipboard and says so.
  await page.click('[data-value=external_id] .copy-button');
  await page.locator('[data-value=external_id] .copy-status', { hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), externalId);
  const trustPolicy = await page.textContent('[data-file="trust_policy.json"] pre');
  assert.match(trustPolicy, new RegExp(externalId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  const bashCommands = await page.locator('.commands li pre').allTextContents();
  assert.ok(bashCommands.length > 0 && bashCommands.every((c) => c.includes(' \\\n')));
  const copyButtons = await page.locator('.commands li .copy-button').count();
  assert.equal(copyButtons, bashCommands.length, 'a copy button per command');
  await page.click('[data-shell=PowerShell]');
  assert.equal(await page.getAttribute('[data-shell=PowerShell]', 'aria-pressed'), 'true');
  const psCommands = await page.locator('.commands li pre').allTextContents();
  assert.ok(psCommands.every((c) => c.includes(' `\n')), 'PowerShell line continuations');
  await page.locator('[data-link]').first().waitFor();
  // Every file has a download; the download is the file.
  const download = page.waitForEvent('download');
  await page.click('[data-file="trust_policy.json"] .download-button');
  assert.equal((await download).suggestedFilename(), 'trust_policy.json');
  await checkpoint('02-bootstrap');
  await page.click('[data-shell=bash]');
  externalIdShown = externalId;
  roles = prepareRoles({ roleName, trustPolicy, bashCommands });
  await next();
});

test('step 3: wrong external id is explained next to the ARN field', async () => {
  await step('identity').waitFor();
  await page.fill('#role_arn', roles.wrongExternalId);
  await page.locator('[data-derived=account_id]').waitFor();
  await page.click('[data-step=identity] button[type=submit]');
  const error = page.locator('#role_arn-error .field-error[data-code=assume_role_access_denied]');
  await error.waitFor({ timeout: STEP_TIMEOUT });
  assert.match(await error.textContent(), /AccessDenied/);
  assert.match(await error.textContent(), /external id/i);
  await checkpoint('03b-identity-access-denied');
});

test('step 3: validate identity', async () => {
  await page.fill('#role_arn', roles.good);
  const account = roles.good.split(':')[4];
  assert.equal(await page.textContent('[data-derived=account_id]'), account);
  await page.click('[data-step=identity] button[type=submit]');
  await step('identity').locator('[data-progress=identity]').waitFor();
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  assert.equal(await page.getAttribute('.deputy', 'data-safe'), 'true');
  assert.ok((await page.textContent('[data-result=identity]')).includes(account));
  await checkpoint('03-identity');
  await next();
});

test('step 4: permissions all granted', async () => {
  await step('permissions').locator('.checks').waitFor();
  assert.equal(await page.locator('.checks li[data-granted=false]').count(), 0);
  assert.ok((await page.locator('.checks .badge.ok').count()) >= 3);
  await checkpoint('04-permissions');
  await next();
});

test('step 4*: regions', async () => {
  await step('enumerate').locator('table.regions tbody tr').first().waitFor();
  await checkpoint('04s-regions');
  await next();
});

test('step 5: save, then the connection is listed', async () => {
  await step('connect').waitFor();
  await checkpoint('05-connect');
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked();
  await page.locator('[data-result=connected]').waitFor();
  await checkpoint('05b-connected');
  await page.click('button:has-text("Go to the integrations list")');
  const card = page.locator('[data-view=integrations] .card[data-kind=cloud_aws]');
  await card.waitFor();
  const text = await card.textContent();
  assert.ok(text.includes(roles.good), 'the role ARN is listed');
  assert.ok(!text.includes(externalIdShown), 'the external id is masked in the list');
  await checkpoint('06-integrations');
});

test('disconnect asks, then lists the vendor-side clean-up', async () => {
  await page.click('.cards button.danger');
  await page.locator('[role=alertdialog]').waitFor();
  // The confirm button has focus: Enter confirms from the keyboard.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Yes, disconnect');
  await checkpoint('07-disconnect-confirm');
  await page.keyboard.press('Enter');
  await stepUpIfAsked();
  await page.locator('[data-result=disconnected] .cleanup li').first().waitFor();
  await page.locator('[data-empty=integrations]').waitFor();
  await checkpoint('07b-disconnected');
});

test('missing permission shows the red badge and a fix that works', async () => {
  await page.click('button:has-text("Connect a cloud account")');
  await next();
  await step('bootstrap').locator('.artifacts').waitFor();
  await next();
  await page.fill('#role_arn', roles.missingPermission);
  await page.click('[data-step=identity] button[type=submit]');
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  await next();
  const missing = page.locator('.checks li[data-granted=false]');
  await missing.first().waitFor();
  assert.equal(await missing.first().locator('.badge.missing').textContent(), 'Missing required');
  await page.locator('[data-fix=permissions]').waitFor();
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'cannot continue with missing permissions');
  await checkpoint('04b-permissions-missing');
  if (!process.env.E2E_MOTO_URL) return;
  // The fix as shown (its policy file and bash command) applied in moto, then
  // "Check again" finds every baseline action granted.
  const policy = await page.textContent('[data-fix=permissions] figure pre');
  const [bashFix] = await page.locator('[data-fix=permissions] > div.artifact pre').allTextContents();
  assert.ok(bashFix.includes(roles.missingPermission.split('/').pop()), 'the fix names the checked role');
  const { dir, run } = motoShell();
  writeFileSync(path.join(dir, 'alphaswarm_baseline_policy.json'), policy);
  run(bashFix);
  await page.click('button:has-text("Check again")');
  await stepUpIfAsked();
  await page.locator('.checks li[data-granted=false]').first().waitFor({ state: 'detached' });
  assert.ok((await page.locator('.checks .badge.ok').count()) >= 3);
  assert.ok(await page.locator('.step-nav button.primary').isEnabled(), 'the fixed role may continue');
});

test('no uncaught page errors', () => {
  assert.deepEqual(consoleErrors, []);
});
