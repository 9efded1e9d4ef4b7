// The page Vite bundles: runs the shared cases against the package imported
// the way a front-end imports it, and leaves the results in #results.
import * as api from "alphaswarm-core";
import { cases, type HmacHex } from "./cases.js";

const webHmacHex: HmacHex = async (secret, message) => {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
};

export interface PageResult {
  name: string;
  passed: boolean;
  error?: string;
}

const results: PageResult[] = [];
for (const c of cases) {
  try {
    await c.run(api, webHmacHex);
    results.push({ name: c.name, passed: true });
  } catch (error) {
    results.push({ name: c.name, passed: false, error: String(error) });
  }
}
const out = document.getElementById("results");
if (out) out.textContent = JSON.stringify({ version: api.version(), exports: Object.keys(api), results });
document.body.dataset["done"] = "true";
