//! Hostile fixture: a strategy that also imports `wasi:filesystem` and lists the preopened
//! directories on start. The host links no WASI at all and must refuse it at load, naming
//! each WASI import. (This is the one plugin with its own bindings: it deliberately steps
//! outside the SDK's world.)

#![allow(unsafe_code)]

use stratbox_sdk::prelude::*;

stratbox_sdk::__private::wit_bindgen::generate!({
    inline: r#"
        package hostile:wasi;

        world reader {
            import wasi:filesystem/preopens@0.2.6;
        }

        package wasi:filesystem@0.2.6 {
            interface types {
                resource descriptor;
            }
            interface preopens {
                use types.{descriptor};
                get-directories: func() -> list<tuple<descriptor, string>>;
            }
        }
    "#,
    world: "hostile:wasi/reader",
    generate_all,
    runtime_path: "stratbox_sdk::__private::wit_bindgen::rt",
});

#[derive(Debug)]
pub struct WasiFilesystem {
    bar_type: BarType,
}

impl Strategy for WasiFilesystem {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
        for (_dir, path) in wasi::filesystem::preopens::get_directories() {
            ctx.warn(&format!("found a preopened directory: {path}"));
        }
    }
}

export_strategy!(WasiFilesystem);
