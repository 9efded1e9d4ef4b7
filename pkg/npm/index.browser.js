// Browser and bundler entry: fetch the wasm beside this file (bundlers such as
// Vite see the `new URL(…, import.meta.url)` and emit it as an asset), then
// every function is synchronous once the import has resolved.
import * as glue from "./alphaswarm_core_bg.js";

const url = new URL("./alphaswarm_core_bg.wasm", import.meta.url);
const response = await fetch(url);
if (!response.ok) {
  throw new Error(`alphaswarm-core: cannot load ${url} (HTTP ${response.status})`);
}
const { instance } = await WebAssembly.instantiate(await response.arrayBuffer(), {
  "./alphaswarm_core_bg.js": glue,
});
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start();

/* EXPORTS */
