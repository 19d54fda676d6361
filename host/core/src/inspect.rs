//! What `stratbox inspect` reports: every static check plus compilation and the typed link
//! against exactly the granted capabilities.

use crate::{
    capabilities,
    sandbox::{Inspection, LoadPolicy, PluginComponent, RefusalCode, SandboxEngine},
};

/// Inspects `bytes` as the host would when loading them: accepted means it would run.
#[must_use]
pub fn inspect(engine: &SandboxEngine, bytes: &[u8], policy: &LoadPolicy) -> Inspection {
    let component = match PluginComponent::load(engine, bytes, policy) {
        Ok(c) => c,
        Err(refused) => return *refused.0,
    };
    let linked = capabilities::linker(engine, component.granted())
        .and_then(|linker| linker.instantiate_pre(&component.component));
    match linked {
        Ok(pre) => match crate::sandbox::bind_exports(&component, &pre) {
            Ok(_) => component.inspection().clone(),
            Err(refused) => *refused.0,
        },
        Err(e) => {
            *component
                .refused(
                    RefusalCode::TypeMismatch,
                    format!("does not link against the stratbox world: {e:#}"),
                )
                .0
        }
    }
}
