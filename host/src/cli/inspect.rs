//! `stratbox inspect <file.wasm> [--json] [--grant ...]`.

use std::{collections::BTreeSet, fmt::Write as _, path::PathBuf};

use stratbox_manifest::Capability;

use super::{EXIT_REFUSED, fail};
use crate::{
    inspect::inspect,
    sandbox::{
        EngineOptions, ImportStatus, Inspection, LoadPolicy, MAX_COMPONENT_BYTES, SandboxEngine,
    },
    storage,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component to inspect.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Capabilities the operator grants (comma-separated: market-data,signals,risk-gate).
    /// Default: whatever the manifest requests.
    #[arg(long, value_delimiter = ',')]
    pub grant: Option<Vec<Capability>>,
}

pub fn run(args: &Args) -> u8 {
    let bytes = match storage::read_operator_file(&args.file, MAX_COMPONENT_BYTES as u64) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let engine = match SandboxEngine::new(EngineOptions::default()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let policy = LoadPolicy {
        grant: args
            .grant
            .as_ref()
            .map(|g| g.iter().copied().collect::<BTreeSet<_>>()),
        ..LoadPolicy::default()
    };
    let inspection = inspect(&engine, &bytes, &policy);
    if args.json {
        let mut value = serde_json::to_value(&inspection).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("file".into(), args.file.display().to_string().into());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        print!("{}", render(&args.file, &inspection));
    }
    if inspection.accepted { 0 } else { EXIT_REFUSED }
}

fn status(s: ImportStatus) -> &'static str {
    match s {
        ImportStatus::Granted => "granted",
        ImportStatus::NoAuthority => "no authority (always linked)",
        ImportStatus::NotGranted => "NOT GRANTED",
        ImportStatus::OutsideWorld => "OUTSIDE THE WORLD",
        ImportStatus::IncompatibleVersion => "INCOMPATIBLE VERSION",
    }
}

/// The human-readable report.
#[must_use]
pub fn render(file: &std::path::Path, i: &Inspection) -> String {
    let mut out = String::new();
    let title = i.manifest.as_ref().map_or_else(
        || "(no manifest)".to_string(),
        |m| format!("{} {}", m.name, m.version),
    );
    let verdict = if i.accepted { "ACCEPTED" } else { "REFUSED" };
    let _ = writeln!(out, "{title}: {verdict}");
    let _ = writeln!(out, "  file     {}", file.display());
    let _ = writeln!(out, "  sha256   {}", i.sha256);
    let _ = writeln!(out, "  size     {} bytes", i.size);
    let _ = writeln!(out, "  world    {}", i.world.as_deref().unwrap_or("(none)"));
    if let Some(m) = &i.manifest
        && !m.description.is_empty()
    {
        let _ = writeln!(out, "  about    {}", m.description.replace('\n', " "));
    }
    if let Some(src) = i.manifest.as_ref().and_then(|m| m.source.as_ref()) {
        let _ = writeln!(
            out,
            "  source   definition {} {} (sha256 {}), family {}, by {}",
            src.definition,
            src.definition_version,
            src.definition_sha256,
            src.family,
            src.translator
        );
    }
    let _ = writeln!(out, "  imports");
    for imp in &i.imports {
        let _ = writeln!(out, "    {:<44} {}", imp.name, status(imp.status));
    }
    let _ = writeln!(out, "  exports");
    for e in &i.exports {
        let _ = writeln!(out, "    {e}");
    }
    let granted: Vec<String> = i.granted.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "  granted  {}",
        if granted.is_empty() {
            "(nothing)".to_string()
        } else {
            granted.join(", ")
        }
    );
    if let Some(m) = &i.manifest {
        let _ = writeln!(out, "  params");
        for (name, p) in &m.params {
            let default = p
                .default
                .as_ref()
                .map_or_else(|| "required".to_string(), |d| format!("= {d}"));
            let range = match (&p.min, &p.max) {
                (None, None) => String::new(),
                (min, max) => format!(
                    " [{}, {}]",
                    min.as_ref().map_or("-inf".into(), ToString::to_string),
                    max.as_ref().map_or("+inf".into(), ToString::to_string)
                ),
            };
            let _ = writeln!(
                out,
                "    {name:<16} {} {default}{range}  {}",
                p.kind, p.description
            );
        }
    }
    if let Some(l) = &i.limits {
        let _ = writeln!(
            out,
            "  limits   fuel/callback {}, deadline {} ms, memory {} bytes, tables {}, orders/callback {}, subscriptions {}, log lines/callback {}",
            l.fuel_per_callback,
            l.epoch_deadline_ms,
            l.max_memory_bytes,
            l.max_table_elements,
            l.max_orders_per_callback,
            l.max_subscriptions,
            l.max_log_lines_per_callback
        );
    }
    if !i.refusals.is_empty() {
        let _ = writeln!(out, "  refused because");
        for r in &i.refusals {
            let _ = writeln!(
                out,
                "    - [{}] {}",
                serde_json::to_value(r.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                r.message
            );
        }
    }
    out
}
