// Every runtime export of the package is covered by at least one shared case,
// and every case covers a real export.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as api from "alphaswarm-core";
import { cases } from "./cases.js";

test("every exported function has a shared case", () => {
  const exported = Object.keys(api).sort();
  const covered = new Set(cases.flatMap((c) => c.covers));
  // The public API of issues 3 and 16, by name.
  assert.deepEqual(exported, [
    "compareBaseline",
    "credentialKey",
    "deriveExternalId",
    "diagnoseWorkload",
    "findCollisions",
    "parseRoleArn",
    "parseSecretValue",
    "renderAwsBootstrap",
    "renderAzureBootstrap",
    "renderCloudflareBootstrap",
    "renderGcpBootstrap",
    "renderWorkloadIdentity",
    "storeName",
    "validateAzureConnection",
    "version",
    "wizardSteps",
  ]);
  assert.deepEqual(exported.filter((name) => !covered.has(name as keyof typeof api)), []);
  assert.deepEqual([...covered].filter((name) => !exported.includes(name)), []);
  for (const name of exported) {
    assert.equal(typeof (api as Record<string, unknown>)[name], "function", `${name} is a function`);
  }
});
