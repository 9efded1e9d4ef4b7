// The shared cases against the package as installed from its tarball, in Node.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as api from "alphaswarm-core";
import { cases, type HmacHex } from "./cases.js";

const nodeHmacHex: HmacHex = async (secret, message) =>
  createHmac("sha256", secret).update(message, "utf8").digest("hex");

for (const c of cases) {
  test(c.name, async () => {
    await c.run(api, nodeHmacHex);
  });
}

test("version() equals the installed package.json version", () => {
  const require = createRequire(import.meta.url);
  const manifest = JSON.parse(readFileSync(require.resolve("alphaswarm-core/package.json"), "utf8")) as { version: string };
  assert.equal(api.version(), manifest.version);
});

test("the package resolved through the exports map to the Node entry", () => {
  assert.match(import.meta.resolve("alphaswarm-core"), /node_modules\/alphaswarm-core\/index\.node\.js$/);
});
