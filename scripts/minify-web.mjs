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

// wasm-streams' classes, whose exports scripts/wasm-drop-exports.py took
// out of the wasm (see scripts/build-web.sh): their glue goes too.
function withoutStreamClasses(glue) {
  const out = glue
    .replace(/^export class (IntoUnderlying\w+) \{\n[\s\S]*?^\}\n(?:if \(Symbol\.dispose\) \1\.prototype\[Symbol\.dispose\] = \1\.prototype\.free;\n)?/gm, '')
    .replace(/^const IntoUnderlying\w+Finalization = [\s\S]*?\);\n/gm, '');
  if (/intounderlying/i.test(out)) throw new Error('the glue still names wasm-streams\' classes: update scripts/minify-web.mjs');
  return out;
}

for (const file of ['alphaswarm_web.js', 'boot.js']) {
  const target = path.join(dist, file);
  const source = readFileSync(target, 'utf8');
  const out = await minify(file === 'alphaswarm_web.js' ? withoutStreamClasses(source) : source, {
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
