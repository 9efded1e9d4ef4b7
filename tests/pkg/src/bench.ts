// `npm run bench`: size, cold import time, deriveExternalId vs node:crypto,
// render throughput. Prints figures only; budgets are reported, not asserted.
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import * as api from "alphaswarm-core";

const require = createRequire(import.meta.url);
const root = dirname(require.resolve("alphaswarm-core/package.json"));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Calls per second of `fn`, after a warm-up, over about `ms` milliseconds. */
function rate(fn: (i: number) => unknown, ms = 1000): number {
  for (let i = 0; i < 2000; i++) fn(i);
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 1000; i++) fn(calls + i);
    calls += 1000;
    elapsed = performance.now() - start;
  }
  return (calls / elapsed) * 1000;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

// Size of the shipped wasm.
const wasm = readFileSync(join(root, "alphaswarm_core_bg.wasm"));
const gzip = gzipSync(wasm, { level: 9 }).length;
console.log(`wasm size: ${fmt(wasm.length)} B raw, ${fmt(gzip)} B gzip (${(gzip / 1024).toFixed(1)} KiB; budget 64 KiB: ${gzip <= 64 * 1024 ? "met" : "NOT met"})`);

// Cold import: a fresh node process each time, timing only the import.
const probe = 'const t = performance.now(); await import("alphaswarm-core"); process.stdout.write(String(performance.now() - t));';
const imports = Array.from({ length: 9 }, () =>
  Number(execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: join(root, "..", ".."), encoding: "utf8" })),
);
console.log(`cold import in Node: median ${median(imports).toFixed(1)} ms over ${imports.length} fresh processes (min ${Math.min(...imports).toFixed(1)}, max ${Math.max(...imports).toFixed(1)})`);

// deriveExternalId vs node:crypto doing the same HMAC-SHA256 + hex.
const secret = Buffer.from("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "hex");
const orgs = Array.from({ length: 64 }, (_, i) => `org-${i}-acme`);
const viaWasm = rate((i) => api.deriveExternalId(secret, "aws", orgs[i & 63] ?? "acme"));
const viaNode = rate((i) => createHmac("sha256", secret).update(`cloud_aws:${orgs[i & 63] ?? "acme"}`).digest("hex"));
const ratio = viaWasm / viaNode;
console.log(`deriveExternalId: ${fmt(viaWasm)} calls/s; node:crypto createHmac: ${fmt(viaNode)} calls/s; ratio ${ratio.toFixed(2)}x (budget 0.5x: ${ratio >= 0.5 ? "met" : "NOT met"})`);

// Render throughput per cloud.
const ISSUER = "https://alpha-swarm.ai/oidc/";
const renders: Record<string, () => unknown> = {
  aws: () => api.renderAwsBootstrap({ orgId: "acme", partnerAccountId: "123456789012", externalId: "3f1c9a0e7b2d4c6f8a1b3c5d7e9f0a2b" }),
  azure: () =>
    api.renderAzureBootstrap({
      orgId: "acme",
      appObjectId: "11111111-2222-3333-4444-555555555555",
      appClientId: "66666666-7777-8888-9999-aaaaaaaaaaaa",
      issuer: ISSUER,
    }),
  gcp: () =>
    api.renderGcpBootstrap({
      orgId: "acme",
      projectId: "acme-prod",
      projectNumber: "123456789012",
      issuer: ISSUER,
      allowedAudience: "https://alpha-swarm.ai/oidc/gcp",
      serviceAccountEmail: "broker@acme-prod.iam.gserviceaccount.com",
    }),
  cloudflare: () => api.renderCloudflareBootstrap({ template: "dns_edit" }),
};
for (const [cloud, render] of Object.entries(renders)) {
  console.log(`render ${cloud}: ${fmt(rate(render, 500))} calls/s`);
}
