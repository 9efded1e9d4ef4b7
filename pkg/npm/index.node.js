// Node entry: instantiate the wasm synchronously from the package folder, so
// a plain `import` is all it takes (no flags, no await, no init call).
import { readFileSync } from "node:fs";
import * as glue from "./alphaswarm_core_bg.js";

const bytes = readFileSync(new URL("./alphaswarm_core_bg.wasm", import.meta.url));
const module = new WebAssembly.Module(bytes);
const { exports } = new WebAssembly.Instance(module, { "./alphaswarm_core_bg.js": glue });
glue.__wbg_set_wasm(exports);
exports.__wbindgen_start();

/* EXPORTS */
