// The same cases in headless Chromium: Vite builds a page that imports the
// installed package, a loopback server serves the build, and playwright-core
// drives Debian's chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { readFile, readdir } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { build } from "vite";
import { chromium } from "playwright-core";
import type { PageResult } from "./browser-page.js";
import { cases } from "./cases.js";

const consumer = resolve(fileURLToPath(new URL("..", import.meta.url)));
const outDir = join(consumer, "web-dist");
const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
};

function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(root, path === "/" ? "index.html" : path);
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((done) => server.listen(0, "127.0.0.1", () => done(server)));
}

test("the shared cases pass in headless Chromium from a Vite build", async (t) => {
  await build({
    root: consumer,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true, target: "es2022" },
  });
  const assets = await readdir(join(outDir, "assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `Vite emitted the wasm as an asset: ${assets.join(", ")}`);

  const server = await serve(outDir);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector("body[data-done]", { timeout: 60_000 }).catch(() => {
      throw new Error(`the page did not finish: ${problems.join("; ")}`);
    });
    const report = JSON.parse((await page.textContent("#results")) ?? "{}") as { results: PageResult[]; exports: string[] };
    assert.deepEqual(problems, []);
    assert.equal(report.results.length, cases.length, "every case ran in the page");
    for (const result of report.results) {
      await t.test(`chromium: ${result.name}`, () => {
        assert.ok(result.passed, result.error);
      });
    }
  } finally {
    await browser.close();
    server.close();
  }
});
