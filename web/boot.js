// Starts the wizard. A file rather than an inline script: the proxy's
// Content-Security-Policy allows scripts from its own origin only.
import init, { mount } from "/alphaswarm_web.js";

await init({ module_or_path: "/alphaswarm_web_bg.wasm" });
mount();
