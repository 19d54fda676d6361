//! Call floors measured on the same engine as a plugin: what an empty host→guest call costs
//! as a core wasm function and as a component export, with fuel and epoch set exactly as
//! the sandbox sets them. They separate wasmtime's fixed call cost from ours.

use std::time::Instant;

use wasmtime::{Module, Store, component::Component};

use super::median;
use crate::sandbox::SandboxEngine;

const CORE: &str = r#"(module (func (export "f") (param i64)))"#;
const COMPONENT: &str = r#"
(component
  (core module $m (func (export "f") (param i64)))
  (core instance $i (instantiate $m))
  (func (export "f") (param "x" u64) (canon lift (core func $i "f"))))
"#;

/// Median ns per empty call: (core function, component export).
pub fn measure(
    engine: &SandboxEngine,
    samples: usize,
    batch: usize,
) -> wasmtime::Result<(f64, f64)> {
    let fuel = engine.options().fuel;
    let e = engine.wasmtime();

    let mut core_store = Store::new(e, ());
    let module = Module::new(e, CORE)?;
    let core = wasmtime::Instance::new(&mut core_store, &module, &[])?
        .get_typed_func::<i64, ()>(&mut core_store, "f")?;

    let mut comp_store = Store::new(e, ());
    let component = Component::new(e, COMPONENT)?;
    let linker = wasmtime::component::Linker::new(e);
    let comp = linker
        .instantiate(&mut comp_store, &component)?
        .get_typed_func::<(u64,), ()>(&mut comp_store, "f")?;

    let (mut core_ns, mut comp_ns) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    #[allow(clippy::cast_precision_loss)]
    for _ in 0..samples.max(1) {
        let t = Instant::now();
        for i in 0..batch {
            if fuel {
                core_store.set_fuel(1_000_000)?;
            }
            core_store.set_epoch_deadline(1_000);
            core.call(&mut core_store, i as i64)?;
        }
        core_ns.push(t.elapsed().as_nanos() as f64 / batch as f64);
        let t = Instant::now();
        for i in 0..batch {
            if fuel {
                comp_store.set_fuel(1_000_000)?;
            }
            comp_store.set_epoch_deadline(1_000);
            comp.call(&mut comp_store, (i as u64,))?;
        }
        comp_ns.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    Ok((median(&mut core_ns), median(&mut comp_ns)))
}
