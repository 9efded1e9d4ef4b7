// Shared helpers of the end-to-end test and the benchmark.
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} (see scripts/test-web.sh)`);
  return value;
}

/** RFC 4648 base32 (the otpauth:// secret alphabet), padding optional. */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/=+$/, '').replace(/\s+/g, '');
  let bits = 0, value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error('the TOTP secret is not base32');
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP: HMAC-SHA1, 30 s steps, 6 digits (RFC 4226 truncation). */
export function totp(secretBase32, atMs = Date.now(), step = 30, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / step)));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(code).padStart(digits, '0');
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core in every page of `context`, injected by the browser itself: an
 * inline script tag would (rightly) be refused by the proxy's CSP.
 */
export async function installAxe(context) {
  await context.addInitScript({ content: AXE_SOURCE });
}

/** A 1280 px page with axe-core, its timeout `timeout` ms, collecting
 * uncaught errors into `pageErrors` and CSP violations into `cspViolations`
 * (each e2e file checks both are empty at its end); `shots` is created. */
export async function openPage({ shots, timeout, pageErrors, cspViolations }) {
  mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await installAxe(context);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  watchCsp(page, cspViolations);
  return { browser, page };
}

/** Collects Content-Security-Policy violations Chromium reports on `page`. */
export function watchCsp(page, into) {
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) into.push(message.text());
  });
}

/**
 * The browser's own console report of an API answer a test provoked (a 4xx
 * from /admin or /auth of `base`): expected, so not a console error.
 */
export function provokedApiRefusal(message, base) {
  const url = message.location()?.url ?? '';
  return /^Failed to load resource: the server responded with a status of 4\d\d\b/.test(message.text())
    && url.startsWith(base) && /^\/(admin|auth)\//.test(new URL(url).pathname);
}

/** axe-core on the current page (see installAxe); returns the serious and critical violations. */
export async function seriousViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    throw new Error('axe-core is not in the page: call installAxe(context) before the first navigation');
  }
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * Text cut off on screen: an element wider than its box that does not
 * scroll (nor ellipsize on purpose), or text past the page's edge. Hidden
 * and screen-reader-only elements (1 px boxes) are skipped.
 */
export async function overflowingText(page) {
  return page.evaluate(() => {
    const found = [];
    const edge = document.documentElement.clientWidth;
    const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
      (el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : '');
    // Inside a box that scrolls sideways (a wide table), text is reachable, not cut.
    const inScroller = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (/auto|scroll/.test(getComputedStyle(p).overflowX)) return true;
      }
      return false;
    };
    for (const el of document.querySelectorAll('body *')) {
      // Form controls scroll their own text.
      if (el.matches('input, textarea, select, option, script, style')) continue;
      const box = el.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden') continue;
      const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      // Crossing an edge, not wholly outside it (a skip link waits off screen on purpose).
      const crosses = (box.left < edge && box.right > edge + 1) || (box.left < -1 && box.right > 0);
      if (text && crosses && !inScroller(el)) {
        found.push(`${name(el)} reaches past the page's edge: ${el.textContent.trim().slice(0, 60)}`);
      }
      const scrolls = /auto|scroll/.test(style.overflowX);
      if (!scrolls && style.textOverflow !== 'ellipsis' && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        found.push(`${name(el)} is ${el.scrollWidth - el.clientWidth} px wider than its box: ${el.textContent.trim().slice(0, 60)}`);
      }
    }
    return found;
  });
}

/** Screenshots of `page` at 1280 px and 390 px wide into `dir`, no sideways
 * scrolling and no text cut off at either width, then axe without serious
 * or critical violations. */
export async function checkpoint(page, dir, name) {
  await page.screenshot({ path: path.join(dir, `${name}-1280.png`), fullPage: true });
  const wide = await overflowingText(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(dir, `${name}-390.png`), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const narrow = await overflowingText(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.ok(overflow <= 0, `${name}: the page scrolls sideways at 390 px by ${overflow} px`);
  assert.deepEqual(wide, [], `${name}: text overflows its box at 1280 px`);
  assert.deepEqual(narrow, [], `${name}: text overflows its box at 390 px`);
  assert.deepEqual(await seriousViolations(page), [], `${name}: axe found serious/critical violations`);
}

/** Why `text` would be developer wording for an operator (core::operator's rule, in short). */
export function developerWording(text) {
  const rules = [
    [/\b(GET|POST|PUT|PATCH|DELETE) \//, 'an HTTP method and route'],
    [/\/auth\/|\/admin\//, 'a route'],
    [/\bBearer\b|\bAuthorization\b/, 'a header'],
    [/position \d/, 'a character position'],
    [/(^|[\s(])[a-z]+_[a-z0-9_]+\b(?!\.json)/, 'a field name written as code'],
  ];
  return rules.find(([re]) => re.test(text))?.[1] ?? null;
}

/** What an operator must never read in an error: HTTP verbs and statuses,
 * header names, character positions (each e2e adds its API's field names). */
export const DEVELOPER_WORDS = String.raw`GET|POST|PUT|DELETE|HTTP|Authorization|Bearer|Content-Type`;

/** The wizard's page helpers shared by the e2e files: the step-up prompt
 * (TOTP from `totpSecret`), Next, a step's section, checkpoints into
 * `shots` (the prompt itself as `stepUpShot`, when given), opening the
 * wizard for an organisation and an error's placement and wording
 * (`developerWords`: a regex no error may match). `pageOf()` gives the
 * page (made in the test's `before`). */
export function wizardHelpers(pageOf, { shots, totpSecret, stepUpShot, developerWords }) {
  const checkpointHere = (name) => checkpoint(pageOf(), shots, name);

  /** Event-driven, no fixed window: until the step-up prompt shows or the
   * step on screen is not busy (a step's request sets `aria-busy` on its
   * section in the same task as the click; when it ends, the prompt and the
   * section's state change in one update). */
  async function settled(page) {
    await page
      .locator('[data-view=step-up], section[data-step][aria-busy="false"]')
      .first()
      .waitFor({ timeout: 60_000 });
  }

  /** Answers the step-up prompt if the last action asked for it (waits for
   * the next TOTP window when a code was refused: a code is accepted once). */
  async function stepUpIfAsked(shotName = stepUpShot) {
    const page = pageOf();
    await settled(page);
    const prompt = page.locator('[data-view=step-up]');
    if (!(await prompt.isVisible())) return false;
    if (shotName) await checkpointHere(shotName);
    for (let attempt = 0; attempt < 2; attempt++) {
      await page.fill('#code', totp(totpSecret));
      await page.keyboard.press('Enter');
      try {
        await prompt.waitFor({ state: 'detached', timeout: 10_000 });
        await settled(page);
        return true;
      } catch {
        await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 500);
      }
    }
    throw new Error('the step-up prompt did not accept the TOTP code');
  }

  /** The error `code`, shown once, next to `field`'s input, in an
   * operator's words (links aside: a consent URL is there to be opened). */
  async function errorShownOnce(code, field) {
    const page = pageOf();
    const where = `#${field}-error .field-error[data-code=${code}]`;
    await page.locator(where).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator(`[data-code=${code}]`).count(), 1, `${code} shows once`);
    assert.equal(await page.locator('.banner.error').count(), 0, `${code} is not in the banner too`);
    assert.equal(await page.getAttribute(`#${field}`, 'aria-invalid'), 'true');
    const words = await page.textContent(where);
    assert.doesNotMatch(words.replace(/https?:\/\/\S+/g, ''), developerWords, `${code}: ${words}`);
    return words;
  }

  /** Organisations -> `org` -> "Connect a cloud account": step 1. */
  async function openWizard(org) {
    const page = pageOf();
    await page.click('nav[aria-label=Main] >> text=Organisations');
    await page.fill('#org_id', org);
    await page.keyboard.press('Enter');
    await page.locator('[data-empty=integrations]').waitFor();
    await page.click('button:has-text("Connect a cloud account")');
    await page.locator('[data-step=choose]').waitFor();
  }

  return {
    checkpoint: checkpointHere,
    stepUpIfAsked,
    errorShownOnce,
    openWizard,
    step: (slug) => pageOf().locator(`[data-step=${slug}]`),
    async next() {
      await pageOf().click('.step-nav button.primary');
      await stepUpIfAsked();
    },
  };
}

/** Presses Tab until the focused element matches `selector` (at most
 * `limit` presses): proves it is reachable from the keyboard. */
export async function tabTo(page, selector, limit = 80) {
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${selector} is not reachable with Tab`);
}

/** Signs in on the login page at `base` and waits for the organisations. */
export async function logIn(page, base, { username, password }) {
  await page.goto(base + '/');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.keyboard.press('Enter');
  await page.locator('[data-view=orgs]').waitFor();
}
