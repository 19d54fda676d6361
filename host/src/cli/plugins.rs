//! What `backtest` and `replay` share: loading the `--plugin` components and giving each
//! one its `--param` values.

use std::path::PathBuf;

use stratbox_manifest::{Capability, ParamValue};

use super::{EXIT_REFUSED, fail};
use crate::{
    audit::AuditLog,
    capabilities::{self, LoadError},
    sandbox::{LoadPolicy, MAX_COMPONENT_BYTES, PluginComponent, SandboxEngine},
    storage,
};

/// Loads each component file under the default policy. A refused component prints its
/// reasons and yields [`EXIT_REFUSED`]; any other failure prints and yields the usage code.
pub(super) fn load(
    engine: &SandboxEngine,
    paths: impl IntoIterator<Item = PathBuf>,
    audit: &AuditLog,
) -> Result<Vec<(String, PluginComponent)>, u8> {
    let mut out = Vec::new();
    for path in paths {
        let bytes = storage::read_operator_file(&path, MAX_COMPONENT_BYTES as u64).map_err(fail)?;
        match capabilities::load(engine, &bytes, &LoadPolicy::default(), audit) {
            Ok(c) => out.push((path.display().to_string(), c)),
            Err(LoadError::Refused(r)) => {
                eprintln!(
                    "error: {} was refused:\n{}",
                    path.display(),
                    r.0.refusal_text()
                );
                return Err(EXIT_REFUSED);
            }
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(out)
}

/// A plugin whose manifest narrows market data to some instruments would subscribe to
/// nothing on data for another instrument (`implied`'s `instrument_id`): say so instead
/// of running it idle.
pub(super) fn check_instrument(
    path: &str,
    component: &PluginComponent,
    implied: &[(&str, String)],
) -> Result<(), String> {
    if let Some(req) = component
        .manifest()
        .capabilities
        .get(&Capability::MarketData)
        && !req.instruments.is_empty()
        && let Some((_, id)) = implied.iter().find(|(k, _)| *k == "instrument_id")
        && !req.instruments.contains(id)
    {
        return Err(format!(
            "{path}: reads only {} (its manifest narrows market-data to them), but the data is for {id}; run it on data for its instruments (a translated definition names its market)",
            req.instruments.join(", ")
        ));
    }
    Ok(())
}

/// Resolves every plugin's parameters against its manifest schema.
///
/// `given` are the `--param` pairs: a name no plugin declares is an error (a typo must not
/// silently run with the default); each plugin receives only the names it declares.
/// `implied` fill declared names the user did not give (the run's instrument, bar type).
pub(super) fn resolve_params(
    components: &[(String, PluginComponent)],
    given: &[(String, String)],
    implied: &[(&str, String)],
) -> Result<Vec<Vec<(String, ParamValue)>>, String> {
    if let Some((name, _)) = given.iter().find(|(k, _)| {
        !components
            .iter()
            .any(|(_, c)| c.manifest().params.contains_key(k))
    }) {
        return Err(format!(
            "--param {name}: no plugin declares a parameter `{name}` (see `stratbox inspect`)"
        ));
    }
    components
        .iter()
        .map(|(path, component)| {
            check_instrument(path, component, implied)?;
            let declared = &component.manifest().params;
            let mut overrides: Vec<(String, String)> = given
                .iter()
                .filter(|(k, _)| declared.contains_key(k))
                .cloned()
                .collect();
            for (name, value) in implied {
                if declared.contains_key(*name) && !overrides.iter().any(|(k, _)| k == name) {
                    overrides.push(((*name).to_string(), value.clone()));
                }
            }
            component
                .manifest()
                .resolve_params(&overrides)
                .map_err(|problems| format!("{path}: invalid parameters:\n{problems}"))
        })
        .collect()
}
