// The published declarations contain no `any`: every .d.ts in the installed
// package is parsed with the TypeScript compiler and searched for AnyKeyword
// (so `any` in a comment or a name does not count, and nothing escapes a regex).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import ts from "typescript";

export function anyKeywords(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push(`${fileName}:${line + 1}:${character + 1}: ${node.parent.getText(source).slice(0, 120)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test("the checker finds any where it is and only there", () => {
  assert.equal(anyKeywords("a.d.ts", "export function f(x: any): void;").length, 1);
  assert.equal(anyKeywords("b.d.ts", "export type T = { a: Array<any> } | (() => any);").length, 2);
  assert.equal(anyKeywords("c.d.ts", "/** any */ export type Company = 'any'; // any\n").length, 0);
});

test("the installed package's .d.ts files contain no any", () => {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("alphaswarm-core/package.json"));
  const declarations = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".d.ts"));
  assert.ok(declarations.length > 0, "the package ships declarations");
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { types: string };
  assert.ok(declarations.includes(manifest.types.replace(/^\.\//, "")), "package.json types points at a shipped file");
  const found = declarations.flatMap((f) => anyKeywords(f, readFileSync(join(root, f), "utf8")));
  assert.deepEqual(found, []);
});
