// Same input, same output on native and wasm32. The native core rendered a
// fixed set of step-2 requests (core/examples/bundle_fixtures.rs, run by
// scripts/test-pkg.sh into ALPHASWARM_NATIVE_FIXTURES); each is rendered again
// here through the npm package (the wasm32 build, as installed from its
// tarball) and its JSON compared byte for byte, errors by code and field.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as api from "alphaswarm-core";

type Render = "renderAwsBootstrap" | "renderAzureBootstrap" | "renderGcpBootstrap" | "renderCloudflareBootstrap" | "renderWorkloadIdentity";

interface Fixture {
  render: Render;
  input: unknown;
  /** The native bundle as serde_json wrote it, or null when refused. */
  output: string | null;
  error: { code: string; field: string | null } | null;
}

const RENDERS: Record<Render, (input: never) => unknown> = {
  renderAwsBootstrap: api.renderAwsBootstrap,
  renderAzureBootstrap: api.renderAzureBootstrap,
  renderGcpBootstrap: api.renderGcpBootstrap,
  renderCloudflareBootstrap: api.renderCloudflareBootstrap,
  renderWorkloadIdentity: api.renderWorkloadIdentity,
};

/** `partner_account_id` → `partnerAccountId`, as the package names fields. */
const camel = (field: string): string => field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function loadFixtures(): Fixture[] {
  const path = process.env.ALPHASWARM_NATIVE_FIXTURES;
  if (!path) throw new Error("set ALPHASWARM_NATIVE_FIXTURES to the output of the bundle_fixtures example (scripts/test-pkg.sh does)");
  return JSON.parse(readFileSync(path, "utf8")) as Fixture[];
}

const fixtures = loadFixtures();

test("the native fixtures cover every bundle renderer, with bundles and refusals", () => {
  assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
  for (const render of Object.keys(RENDERS)) {
    assert.ok(fixtures.some((f) => f.render === render && f.output !== null), `${render}: no bundle`);
    assert.ok(fixtures.some((f) => f.render === render && f.error !== null), `${render}: no refusal`);
  }
});

fixtures.forEach((fixture, index) => {
  test(`#${index} ${fixture.render} renders in wasm32 exactly as natively`, () => {
    const render = RENDERS[fixture.render] as (input: unknown) => unknown;
    let result: unknown;
    let thrown: unknown;
    try {
      result = render(fixture.input);
    } catch (e) {
      thrown = e;
    }
    if (fixture.output !== null) {
      assert.equal(thrown, undefined, `the package refused what the native core rendered: ${String(thrown)}`);
      assert.equal(JSON.stringify(result), fixture.output);
    } else {
      const error = thrown as { code?: unknown; field?: unknown } | undefined;
      assert.ok(error, `the package rendered what the native core refused (${fixture.error?.code})`);
      assert.equal(error.code, fixture.error?.code);
      assert.equal(error.field, fixture.error?.field == null ? null : camel(fixture.error.field));
    }
  });
});
