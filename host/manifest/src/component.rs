//! Core module + manifest → component.

use wasm_encoder::Section;

use crate::SECTION;

/// Turns a core module built for `wasm32-unknown-unknown` into a component (its WIT
/// imports and exports come from the bindings' custom sections; no WASI adapter is used)
/// and embeds `manifest_text` as the [`SECTION`] custom section. The result is validated.
pub fn componentize(core: &[u8], manifest_text: &str) -> Result<Vec<u8>, String> {
    let mut component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .map_err(|e| format!("not a module the component encoder accepts: {e:#}"))?
        .encode()
        .map_err(|e| format!("encoding the component: {e:#}"))?;
    wasm_encoder::CustomSection {
        name: SECTION.into(),
        data: manifest_text.as_bytes().into(),
    }
    .append_to(&mut component);
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&component)
        .map_err(|e| format!("the finished component does not validate: {e}"))?;
    Ok(component)
}
