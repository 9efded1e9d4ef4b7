use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn version() -> String {
    alphaswarm_core::VERSION.to_owned()
}
