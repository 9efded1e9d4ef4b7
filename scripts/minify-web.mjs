// Minifies the UI's JavaScript (the wasm-bindgen glue, boot.js) and its
// stylesheet in place: node scripts/minify-web.mjs DIST MINIFY_DIR, where
// MINIFY_DIR holds the pinned terser and csso (scripts/lib.sh,
// ensure_web_minifiers). Property names and exports stay as they are: the
// wasm imports its functions from the glue by name.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [dist, tools] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(tools), 'package.json'));
const { minify } = require('terser');
const csso = require('csso');

for (const file of ['alphaswarm_web.js', 'boot.js']) {
  const target = path.join(dist, file);
  const out = await minify(readFileSync(target, 'utf8'), {
    module: true,
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: false },
  });
  writeFileSync(target, out.code);
}
const css = path.join(dist, 'style.css');
writeFileSync(css, csso.minify(readFileSync(css, 'utf8'), { restructure: false }).css);
