// End to end: Settings -> Workload identity in Debian's Chromium, served by
// the proxy at E2E_BASE_URL. The page renders an AKS workload's wiring and
// diagnoses seed 004's spec-agent-worker manifests; the proxy runs the core
// for both (/admin/tools/workload-identity/...), the UI ships no renderer.
//
// Env: E2E_BASE_URL, E2E_PASSWORD, E2E_USERNAME (default admin).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkpoint as shoot, installAxe, launch, logIn, provokedApiRefusal, requireEnv, watchCsp } from './lib.mjs';

const BASE = requireEnv('E2E_BASE_URL').replace(/\/$/, '');
const PASSWORD = requireEnv('E2E_PASSWORD');
const USERNAME = process.env.E2E_USERNAME || 'admin';
const SHOTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'screenshots');

const ISSUER = 'https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5f3e9c1a-8d2b-4e6f-9a0c-1b2d3e4f5a6b/';
// Seed 004's spec-agent-worker, as the core's diagnosis corpus has it.
const SEED_004 = readFileSync(new URL('../../core/tests/fixtures/k8s/seed_004_spec_agent_worker.yaml', import.meta.url), 'utf8');

let browser, page;
const pageErrors = [];  // uncaught errors and console errors alike
const cspViolations = [];
const toolRequests = [];  // paths of the proxy's workload identity tools called

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await installAxe(context);
  page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !provokedApiRefusal(msg, BASE)) pageErrors.push(`console.error: ${msg.text()}`);
  });
  watchCsp(page, cspViolations);
  page.on('request', (r) => {
    const { pathname } = new URL(r.url());
    if (pathname.startsWith('/admin/tools/workload-identity/')) toolRequests.push(pathname);
  });
});

after(async () => {
  await browser?.close();
});

const checkpoint = (name) => shoot(page, SHOTS, name);

const tool = (form) => page.locator(`form[data-form=${form}] ~ .artifacts`);

test('log in and open Settings -> Workload identity', async () => {
  await logIn(page, BASE, { username: USERNAME, password: PASSWORD });
  await page.click('nav[aria-label=Main] >> text=Settings');
  await page.click('button:has-text("Workload identity")');
  await page.locator('[data-view=workload-identity]').waitFor();
  assert.equal(new URL(page.url()).hash, '#/settings/workload-identity');
  assert.deepEqual(toolRequests, [], 'nothing is sent before a tool runs');
  // Per cluster, only its fields show.
  assert.ok(await page.isVisible('#subscriptionId'));
  assert.ok(!(await page.isVisible('#accountId')));
  await page.selectOption('#cloud', 'eks');
  assert.ok(await page.isVisible('#accountId'));
  assert.ok(!(await page.isVisible('#subscriptionId')));
  await page.selectOption('#cloud', 'aks');
  await checkpoint('10-workload-identity');
});

test('a bad namespace is shown next to its field', async () => {
  await page.fill('#namespace', 'Internal Platform');
  await page.fill('#serviceAccount', 'spec-agent-worker');
  await page.click('form[data-form=cloud] button[type=submit]');
  const error = page.locator('#namespace-error .field-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('data-code'), 'invalid_k8s_namespace');
  assert.deepEqual(toolRequests, ['/admin/tools/workload-identity/render'], 'the proxy checked the request');
});

test('render the AKS wiring of seed 004 workload', async () => {
  await page.fill('#namespace', 'internal-platform');
  await page.fill('#issuer', ISSUER);
  await page.fill('#clusterName', 'aucert-aks');
  await page.fill('#credentialKeys', 'postgres:password\nfoundry:api_key');
  await page.fill('#subscriptionId', '00000000-1111-2222-3333-444444444444');
  await page.fill('#resourceGroup', 'aucert-foundation-rg');
  await page.fill('#keyVaultName', 'aucertdev-kv-41e0x5');
  await page.click('form[data-form=cloud] button[type=submit]');
  const artifacts = tool('cloud');
  await artifacts.waitFor();
  assert.equal(await page.locator('#namespace-error .field-error').count(), 0, 'the old error is gone');
  const patch = await artifacts.locator('[data-file="pod_template_patch.yaml"] pre').textContent();
  assert.ok(patch.includes('azure.workload.identity/use: "true"'), patch);
  const fic = JSON.parse(await artifacts.locator('[data-file="federated_credential.json"] pre').textContent());
  assert.equal(fic.subject, 'system:serviceaccount:internal-platform:spec-agent-worker');
  assert.equal(fic.issuer, ISSUER);
  const first = artifacts.locator('[data-command="0"]');
  assert.ok((await first.locator('pre').textContent()).startsWith('az aks show'));
  await first.locator('.copy-button').click();
  await first.locator('.copy-status', { hasText: 'Copied' }).waitFor();
  assert.ok((await page.evaluate(() => navigator.clipboard.readText())).startsWith('az aks show'));
  await artifacts.locator('[data-shell=PowerShell]').click();
  assert.ok((await first.locator('pre').textContent()).includes("--name 'aucert-aks'"));
  await checkpoint('11-workload-identity-wiring');
});

test('diagnose seed 004: the pod label is missing, with its fix', async () => {
  await page.fill('#d-manifests', SEED_004);
  await page.click('form[data-form=cloudOutput] button[type=submit]');
  const result = tool('cloudOutput');
  await result.waitFor();
  const codes = await result.locator('.banner.warn li').evaluateAll((items) => items.map((li) => li.dataset.code));
  assert.deepEqual(codes, ['aks_pod_label_missing']);
  const fix = await result.locator('[data-file="fix-aks_pod_label_missing.yaml"] pre').textContent();
  assert.ok(fix.includes('azure.workload.identity/use: "true"'), fix);
  await checkpoint('12-workload-identity-diagnosis');
  // Hostile YAML is refused with a message next to the manifests.
  await page.fill('#d-manifests', 'a: &a [x, x, x, x, x, x, x, x, x, x]\n' + Array.from({ length: 9 }, (_, i) => `b${i}: &b${i} [${Array(10).fill(i ? `*b${i - 1}` : '*a').join(', ')}]`).join('\n'));
  await page.click('form[data-form=cloudOutput] button[type=submit]');
  const error = page.locator('#manifests-error .field-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('data-code'), 'yaml_too_many_nodes');
});

test('no uncaught page errors and no console errors', () => {
  assert.deepEqual(pageErrors, []);
});

test('the page kept to the Content-Security-Policy', () => {
  assert.deepEqual(cspViolations, []);
});
