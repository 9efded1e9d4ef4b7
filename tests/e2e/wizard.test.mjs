// End to end: Debian's Chromium (playwright-core) drives the wizard served by
// the proxy at E2E_BASE_URL. The proxy's AWS is the loopback AWS fake
// (alphaswarm-fakes: its own SigV4 checks, every call authorised as IAM
// does) at E2E_AWS_URL; roles are created there by running the bash
// commands the wizard rendered, with the awscli on PATH, as the customer's
// administrator (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
//
// Env, all required: E2E_BASE_URL, E2E_PASSWORD, E2E_TOTP_SECRET (base32),
// E2E_AWS_URL and the administrator's keys; E2E_USERNAME defaults to admin.
// scripts/test-web.sh sets all of it up (proxy and the AWS fake).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkpoint as shoot, developerWording, installAxe, launch, provokedApiRefusal, requireEnv, seriousViolations, totp, watchCsp } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const TOTP_SECRET = requireEnv('E2E_TOTP_SECRET');
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');
const ORG = `e2e-${Date.now().toString(36)}`;
const STEP_TIMEOUT = 60_000;

let browser, context, page;
const consoleErrors = [];
const cspViolations = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await installAxe(context);
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !provokedApiRefusal(msg, BASE)) consoleErrors.push(`console.error: ${msg.text()}`);
  });
  watchCsp(page, cspViolations);
});

after(async () => {
  await browser?.close();
});

/** Screenshots at 1280 px and 390 px wide, then axe on the page. */
const checkpoint = (name) => shoot(page, SHOTS, name);

/** Answers the step-up prompt on screen (waits for the next TOTP window when a code was refused). */
async function answerStepUp() {
  const prompt = page.locator('[data-view=step-up]');
  await checkpoint('03a-step-up');
  for (let attempt = 0; attempt < 2; attempt++) {
    await page.fill('#code', totp(TOTP_SECRET));
    await page.keyboard.press('Enter');
    try {
      await prompt.waitFor({ state: 'detached', timeout: 10_000 });
      return;
    } catch {
      // A code may be accepted once only: wait for the next 30 s window.
      await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 500);
    }
  }
  throw new Error('the step-up prompt did not accept the TOTP code');
}

/**
 * After an action that may need a fresh second factor: waits (event-driven,
 * no fixed window) until either the step-up prompt or `outcome` shows, and
 * answers the prompt when it is the one. `outcome` must not be on screen
 * before the action. Returns whether the prompt was asked.
 */
async function stepUpIfAsked(outcome) {
  const prompt = page.locator('[data-view=step-up]');
  await page.locator(`[data-view=step-up], ${outcome}`).first().waitFor({ timeout: STEP_TIMEOUT });
  if (!(await prompt.isVisible())) return false;
  await answerStepUp();
  await page.locator(outcome).first().waitFor({ timeout: STEP_TIMEOUT });
  return true;
}

/** Next step; `outcome` is what shows once the next step is open (or done). */
async function next(outcome) {
  await page.click('.step-nav button.primary');
  await stepUpIfAsked(outcome);
}

function step(slug) {
  return page.locator(`[data-step=${slug}]`);
}

/** A temp dir and a bash runner there whose awscli talks to the AWS fake as the customer's administrator. */
function awsShell() {
  const dir = mkdtempSync(path.join(tmpdir(), 'alphaswarm-e2e-'));
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: requireEnv('E2E_AWS_URL'),
    AWS_ACCESS_KEY_ID: requireEnv('AWS_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: requireEnv('AWS_SECRET_ACCESS_KEY'),
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  const run = (script) => execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  return { dir, run };
}

/**
 * Creates the roles by running the rendered bash commands (the good one:
 * exactly those), plus deliberately broken variants of the same artifacts.
 */
function prepareRoles({ roleName, trustPolicy, baselinePolicy, bashCommands }) {
  const { dir, run } = awsShell();
  writeFileSync(path.join(dir, 'trust_policy.json'), trustPolicy);
  writeFileSync(path.join(dir, 'alphaswarm_baseline_policy.json'), baselinePolicy);
  let arn;
  for (const command of bashCommands.filter((c) => c.startsWith('aws iam'))) {
    const out = run(command);
    if (command.startsWith('aws iam create-role')) arn = JSON.parse(out).Role.Arn;
  }
  assert.ok(arn, 'the rendered commands create the role');
  const wrong = JSON.parse(trustPolicy);
  for (const s of wrong.Statement) {
    if (s.Condition?.StringEquals?.['sts:ExternalId']) s.Condition.StringEquals['sts:ExternalId'] = 'not-the-external-id';
  }
  writeFileSync(path.join(dir, 'wrong_trust_policy.json'), JSON.stringify(wrong));
  // The least-privilege policy without ec2:DescribeRegions: one red badge.
  const partial = JSON.parse(baselinePolicy);
  partial.Statement[0].Action = partial.Statement[0].Action.filter((a) => a !== 'ec2:DescribeRegions');
  writeFileSync(path.join(dir, 'partial_policy.json'), JSON.stringify(partial));
  const create = (name, file) => JSON.parse(run(`aws iam create-role --role-name '${name}' --assume-role-policy-document 'file://${file}'`)).Role.Arn;
  const partialName = `${roleName}-partial`.slice(0, 64);
  const partialArn = create(partialName, 'trust_policy.json');
  run(`aws iam put-role-policy --role-name '${partialName}' --policy-name alphaswarm-baseline --policy-document file://partial_policy.json`);
  return {
    good: arn,
    wrongExternalId: create(`${roleName}-wrongxid`.slice(0, 64), 'wrong_trust_policy.json'),
    partialPermission: partialArn,
    // Right trust policy, no permissions at all: it may not even simulate.
    noPermission: create(`${roleName}-noperm`.slice(0, 64), 'trust_policy.json'),
  };
}

let roles;
let externalIdShown;
let baselineShown;

test('log in', async () => {
  const response = await page.goto(BASE + '/');
  const csp = response.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/, 'the UI is served under the proxy\'s CSP');
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
  // In the operator's words: the field's label and the character, not its position.
  const said = await page.textContent('#org_id-error .field-error');
  assert.match(said, /^Organisation id .*"A"/, said);
  assert.equal(developerWording(said), null, said);
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

test('the console-error check sees console errors', async () => {
  await page.evaluate(() => console.error('e2e probe'));
  await page.waitForFunction(() => true);
  assert.ok(consoleErrors.includes('console.error: e2e probe'), `not captured: ${consoleErrors}`);
  consoleErrors.splice(consoleErrors.indexOf('console.error: e2e probe'), 1);
});

test('step 1: choose AWS', async () => {
  await page.click('button:has-text("Connect a cloud account")');
  await step('choose').waitFor();
  assert.ok(await page.isChecked('#cloud-aws'));
  // No dead ends: a cloud is offered only when this proxy has its provider
  // (and the UI its wizard); every cloud has one now.
  const offered = await page.evaluate(async () => {
    const r = await fetch('/admin/clouds', { headers: { authorization: 'Bearer ' + sessionStorage.getItem('alphaswarm.token') } });
    return (await r.json()).clouds;
  });
  assert.ok(offered.includes('aws'), `the proxy offers ${offered}`);
  await page.locator('#cloud-aws:not([disabled])').waitFor();
  for (const cloud of ['azure', 'gcp', 'cloudflare']) {
    const open = offered.includes(cloud);
    assert.equal(await page.isDisabled(`#cloud-${cloud}`), !open, cloud);
    if (!open) assert.equal(await page.textContent(`label[for=cloud-${cloud}] [data-status=unavailable]`), 'Coming soon');
  }
  await checkpoint('01-choose');
  await next('[data-step=bootstrap] .artifacts');
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
  // The least-privilege policy: exactly the four baseline actions.
  const baselinePolicy = await page.textContent('[data-file="alphaswarm_baseline_policy.json"] pre');
  assert.deepEqual(JSON.parse(baselinePolicy).Statement[0].Action,
    ['sts:GetCallerIdentity', 'iam:GetRole', 'iam:SimulatePrincipalPolicy', 'ec2:DescribeRegions']);
  const notes = await page.locator('.notes li').allTextContents();
  assert.ok(notes.some((n) => n.startsWith('Which policy to choose')), 'step 2 says which policy to choose');
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
  // One tab per way of doing it, each complete: CloudFormation carries its
  // create-stack commands with copy buttons, in bash and PowerShell.
  const ways = await page.locator('[role=tab]').evaluateAll((tabs) => tabs.map((t) => t.dataset.way));
  assert.deepEqual(ways, ['cli', 'terraform', 'cloudformation']);
  await page.click('[data-way=terraform]');
  await page.locator('[data-way-panel=terraform] [data-file="main.tf"] .copy-button').waitFor();
  await checkpoint('02b-bootstrap-terraform');
  await page.click('[data-way=cloudformation]');
  const cfn = page.locator('[data-way-panel=cloudformation]');
  const createStack = cfn.locator('.alt-commands li', { hasText: 'create-stack' }).first();
  await createStack.locator('.copy-button').waitFor();
  await cfn.locator('[data-shell=bash]').click();
  assert.match(await createStack.locator('pre').textContent(), /aws cloudformation create-stack \\\n/);
  await cfn.locator('[data-shell=PowerShell]').click();
  assert.match(await createStack.locator('pre').textContent(), /aws cloudformation create-stack `\n/);
  await cfn.locator('[data-shell=bash]').click();
  // The template starts as a preview and opens in place.
  const template = cfn.locator('[data-file="alphaswarm-broker-role.cfn.json"]');
  await template.locator('button[aria-expanded=false]').click();
  await template.locator('button[aria-expanded=true]').waitFor();
  await checkpoint('02c-bootstrap-cloudformation');
  await page.click('[data-way=cli]');
  await page.click('[data-shell=bash]');
  externalIdShown = externalId;
  baselineShown = baselinePolicy;
  roles = prepareRoles({ roleName, trustPolicy, baselinePolicy, bashCommands });
  await next('[data-step=identity] #role_arn');
});

test('step 3: wrong external id is explained next to the ARN field', async () => {
  await step('identity').waitFor();
  await page.fill('#role_arn', roles.wrongExternalId);
  await page.locator('[data-derived=account_id]').waitFor();
  await page.click('[data-step=identity] button[type=submit]');
  const error = page.locator('#role_arn-error .field-error[data-code=assume_role_access_denied]');
  await stepUpIfAsked('#role_arn-error .field-error');
  await error.waitFor({ timeout: STEP_TIMEOUT });
  assert.match(await error.textContent(), /AccessDenied/);
  assert.match(await error.textContent(), /external id/i);
  // Once, next to its field: no banner repeats it.
  assert.equal(await step('identity').locator('.banner.error').count(), 0);
  assert.equal(await page.locator('[data-code=assume_role_access_denied]').count(), 1);
  assert.equal(developerWording(await error.textContent()), null);
  await checkpoint('03b-identity-access-denied');
});

test('step 3: validate identity', async () => {
  await page.fill('#role_arn', roles.good);
  const account = roles.good.split(':')[4];
  assert.equal(await page.textContent('[data-derived=account_id]'), account);
  await page.click('[data-step=identity] button[type=submit]');
  await stepUpIfAsked('[data-result=identity]');
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  assert.equal(await page.getAttribute('.deputy', 'data-safe'), 'true');
  assert.ok((await page.textContent('[data-result=identity]')).includes(account));
  await checkpoint('03-identity');
  await next('[data-step=permissions] .checks');
});

test('step 4: the least-privilege role has every permission', async () => {
  await step('permissions').locator('.checks').waitFor();
  assert.equal(await page.locator('.checks li[data-granted=false]').count(), 0);
  assert.equal(await page.locator('.checks .badge.ok').count(), 4);
  await checkpoint('04-permissions');
  await next('[data-step=enumerate] table.regions tbody tr');
});

test('step 4*: regions', async () => {
  await step('enumerate').locator('table.regions tbody tr').first().waitFor();
  await checkpoint('04s-regions');
  await next('[data-step=connect]');
});

test('step 5: save, then the connection is listed', async () => {
  await step('connect').waitFor();
  await checkpoint('05-connect');
  await page.click('button:has-text("Save connection")');
  await stepUpIfAsked('[data-result=connected]');
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

test('the organisations page lists the org with its connection, searchable, one click away', async () => {
  await page.click('nav[aria-label=Main] >> text=Organisations');
  const row = page.locator(`.org-row[data-org="${ORG}"]`);
  await row.waitFor();
  assert.match(await row.locator('[data-kind=cloud_aws]').textContent(), /^AWS · /);
  await page.fill('#org_search', 'no-such-organisation');
  await row.waitFor({ state: 'detached' });
  await page.fill('#org_search', ORG);
  await row.waitFor();
  await checkpoint('06b-organisations');
  await row.locator('button.org-open').click();
  await page.locator('[data-view=integrations] .card[data-kind=cloud_aws]').waitFor();
});

test('disconnect asks, then lists the vendor-side clean-up', async () => {
  await page.click('.cards button.danger');
  await page.locator('[role=alertdialog]').waitFor();
  // The confirm button has focus: Enter confirms from the keyboard.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Yes, disconnect');
  await checkpoint('07-disconnect-confirm');
  await page.keyboard.press('Enter');
  await stepUpIfAsked('[data-result=disconnected] .cleanup li');
  await page.locator('[data-result=disconnected] .cleanup li').first().waitFor();
  await page.locator('[data-empty=integrations]').waitFor();
  await checkpoint('07b-disconnected');
});

/** Step 3 with `arn`, then on to step 4; returns once step 4 has answered. */
async function toPermissions(arn) {
  await page.fill('#role_arn', arn);
  await page.click('[data-step=identity] button[type=submit]');
  await stepUpIfAsked('[data-result=identity]');
  await page.locator('[data-result=identity]').waitFor({ timeout: STEP_TIMEOUT });
  await next('[data-step=permissions] .checks, [data-step=permissions] [data-fix=permissions]');
}

/** The fix as shown: its policy must be step 2's least-privilege policy, and its bash command names the role. */
async function shownFix(arn) {
  const fix = page.locator('[data-fix=permissions]');
  await fix.waitFor();
  const policy = await fix.locator('figure pre').textContent();
  assert.equal(policy, baselineShown, 'the fix grants exactly what step 2 showed');
  const [bash] = await fix.locator(':scope > div.artifact pre').allTextContents();
  assert.ok(bash.includes(arn.split('/').pop()), 'the fix names the checked role');
  return { policy, bash };
}

/**
 * "Check again", then waits for the proxy's answer itself (what it shows may
 * already be on screen from the previous check), through a step-up prompt
 * if one comes first.
 */
async function checkAgain() {
  const answered = page.waitForResponse(
    (r) => r.url().endsWith('/validate-permissions') && r.status() !== 403,
    { timeout: STEP_TIMEOUT * 2 },
  );
  await page.click('button:has-text("Check again")');
  const prompt = page.locator('[data-view=step-up]').waitFor({ timeout: STEP_TIMEOUT }).then(() => 'prompt', () => 'none');
  if ((await Promise.race([answered.then(() => 'answered'), prompt])) === 'prompt') await answerStepUp();
  await answered;
  await page.locator('[data-step=permissions][aria-busy=false]').waitFor();
}

test('a missing permission shows the red badge and the fix that turns it green', async () => {
  await page.click('button:has-text("Connect a cloud account")');
  await next('[data-step=bootstrap] .artifacts');
  await next('[data-step=identity] #role_arn');
  await toPermissions(roles.partialPermission);
  const missing = page.locator('.checks li[data-granted=false]');
  await missing.first().waitFor();
  assert.equal(await missing.count(), 1);
  assert.equal(await missing.first().getAttribute('data-action'), 'ec2:DescribeRegions');
  assert.equal(await missing.first().locator('.badge.missing').textContent(), 'Missing required');
  assert.ok(await page.locator('.step-nav button.primary').isDisabled(), 'cannot continue with missing permissions');
  await checkpoint('04b-permissions-missing');
  const { policy, bash } = await shownFix(roles.partialPermission);
  const { dir, run } = awsShell();
  writeFileSync(path.join(dir, 'alphaswarm_baseline_policy.json'), policy);
  run(bash);
  await checkAgain();
  await page.locator('.checks li[data-granted=false]').first().waitFor({ state: 'detached' });
  assert.equal(await page.locator('.checks .badge.ok').count(), 4);
  assert.ok(await page.locator('.step-nav button.primary').isEnabled(), 'the fixed role may continue');
});

test('a role that may not simulate gets simulate_denied, and green only after the fix', async () => {
  await page.click('.step-nav button:has-text("Back")');
  await stepUpIfAsked('[data-step=identity] #role_arn');
  await toPermissions(roles.noPermission);
  // IAM refuses the check itself: its own code, no badges, the fix below.
  const denied = page.locator('[data-step=permissions] .banner.error[data-code=simulate_denied]');
  await denied.waitFor();
  assert.match(await denied.textContent(), /iam:SimulatePrincipalPolicy/);
  assert.equal(await page.locator('.checks').count(), 0);
  assert.ok(await page.locator('.step-nav button.primary').isDisabled());
  await checkpoint('04c-permissions-simulate-denied');
  const { policy, bash } = await shownFix(roles.noPermission);
  // Checking again changes nothing until the fix is applied.
  await checkAgain();
  await denied.waitFor();
  assert.equal(await page.locator('.checks').count(), 0);
  const { dir, run } = awsShell();
  writeFileSync(path.join(dir, 'alphaswarm_baseline_policy.json'), policy);
  run(bash);
  await checkAgain();
  await page.locator('.checks').waitFor();
  assert.equal(await page.locator('.checks li[data-granted=false]').count(), 0);
  assert.equal(await page.locator('.checks .badge.ok').count(), 4);
  assert.ok(await page.locator('.step-nav button.primary').isEnabled());
});

test('no uncaught page errors and no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});

test('the whole run kept to the Content-Security-Policy', () => {
  assert.deepEqual(cspViolations, []);
});
