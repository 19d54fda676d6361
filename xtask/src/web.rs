//! The web console (`web/`): its npm build, which must run before cargo builds the
//! `stratbox` binary (the binary embeds `web/dist` and the report viewer), and its browser
//! tests (Playwright driving Debian's Chromium against a real `stratbox serve`).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

use anyhow::{Context, Result, bail};

/// How a command is run (echoed and timed by the caller).
pub type Runner<'a> = &'a dyn Fn(&mut Command) -> Result<()>;

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` when `web/node_modules` is missing or older than the lockfile, then
/// `npm run build` (type check, console, report viewer, and the build's own checks: no
/// inline script, the report's data element).
pub fn build(root: &Path, run: Runner<'_>) -> Result<()> {
    let web = root.join("web");
    let npm = || {
        let mut c = Command::new("npm");
        c.current_dir(&web);
        c
    };
    if Command::new("npm").arg("--version").output().is_err() {
        bail!(
            "npm is not installed: the console in web/ is built with Node.js 20 and npm (Debian: `apt-get install nodejs npm`)"
        );
    }
    // npm keeps its own copy of the lockfile in node_modules after an install.
    let installed = modified(&web.join("node_modules").join(".package-lock.json"));
    let wanted = modified(&web.join("package-lock.json"));
    if installed.is_none() || installed < wanted {
        run(npm().args(["ci", "--no-audit", "--no-fund"]))
            .context("installing the console's npm packages (web/package-lock.json)")?;
    }
    run(npm().args(["run", "build"])).context("building the console (web/)")
}

/// Debian's Chromium, installed by `.ci/chromium.sh` when missing; its path.
pub fn chromium(root: &Path) -> Result<PathBuf> {
    let out = Command::new("bash")
        .current_dir(root)
        .arg(".ci/chromium.sh")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running .ci/chromium.sh")?;
    if !out.status.success() {
        bail!("Chromium is needed for the console's browser tests (.ci/chromium.sh); see above");
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// The browser tests (`web/e2e`, `web/playwright.config.ts`) against `bin`, with the
/// components in `plugins`; screenshots and failure traces go to
/// `<target>/console-e2e`.
pub fn e2e(root: &Path, bin: &Path, plugins: &Path, run: Runner<'_>) -> Result<()> {
    let chromium = chromium(root)?;
    let web = root.join("web");
    run(Command::new(web.join("node_modules").join(".bin").join("playwright"))
        .current_dir(&web)
        .arg("test")
        .env("STRATBOX_BIN", bin)
        .env("STRATBOX_PLUGINS", plugins)
        .env("CHROMIUM", chromium))
    .context(
        "the console's browser tests failed (traces and screenshots: target/console-e2e; rerun with `cargo xtask e2e`)",
    )
}
