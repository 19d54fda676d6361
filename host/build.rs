//! Finds the web console's build output (`web/dist`, `web/dist-report/report.html`, made by
//! `cargo xtask web`: `npm ci && npm run build`) for `rust-embed` and `include_str!`.
//!
//! A checkout where the console was not built still compiles: the binary then serves a
//! page saying how to build it, and writes reports with a page saying the same beside
//! their `report.json`. `cargo xtask demo|test` always build the console first.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

const MISSING: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stratbox console not built</title></head>\n<body><h1>The stratbox console was not built into this binary</h1>\n<p>Run <code>cargo xtask web</code> (npm ci and npm run build in <code>web/</code>), then rebuild the binary. <code>cargo xtask demo</code> and <code>cargo xtask test</code> do both.</p></body></html>\n";

const MISSING_REPORT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stratbox report</title></head>\n<body><h1>The report viewer was not built into this binary</h1>\n<p>The figures are in <code>report.json</code> beside this file. Run <code>cargo xtask web</code> and rebuild the binary for the chart and tables.</p>\n<script type=\"application/json\" id=\"report-data\">/*STRATBOX_REPORT_JSON*/null</script></body></html>\n";

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let web = manifest.join("..").join("web");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let dist = web.join("dist");
    let report = web.join("dist-report").join("report.html");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed={}", report.display());
    let console = if dist.join("index.html").is_file() {
        dist
    } else {
        println!(
            "cargo:warning=the web console is not built (web/dist); the binary serves a page saying how to build it. Run `cargo xtask web`."
        );
        write(&out.join("console-missing"), "index.html", MISSING)
    };
    let report = if report.is_file() {
        report
    } else {
        write(&out.join("report-missing"), "report.html", MISSING_REPORT).join("report.html")
    };
    println!("cargo:rustc-env=STRATBOX_CONSOLE_DIR={}", console.display());
    println!("cargo:rustc-env=STRATBOX_REPORT_HTML={}", report.display());
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("OUT_DIR is writable");
    fs::write(dir.join(name), text).expect("OUT_DIR is writable");
    dir.to_path_buf()
}
