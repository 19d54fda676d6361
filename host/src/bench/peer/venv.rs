//! The virtualenv of `stratbox bench peer`'s Python side: created and installed by the
//! bench itself, cached, and trusted only once its install finished.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use super::{NAUTILUS_TRADER_VERSION, tail};
use crate::storage;

/// Written into the virtualenv only after `pip install` succeeded and the package
/// imported; without it (or with another version in it) the install is redone.
const MARKER: &str = ".stratbox-peer-installed";

/// `$XDG_CACHE_HOME/stratbox/peer/nautilus_trader-<version>`, or under `$HOME/.cache`.
pub fn default_venv() -> Result<PathBuf, String> {
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let cache = xdg
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set: name the virtualenv with --venv DIR")?;
    Ok(cache
        .join("stratbox/peer")
        .join(format!("nautilus_trader-{NAUTILUS_TRADER_VERSION}")))
}

/// The virtualenv's interpreter.
pub(super) fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn marker_text() -> String {
    format!("nautilus_trader=={NAUTILUS_TRADER_VERSION}\n")
}

/// The virtualenv at `venv` finished installing this bench's release: its marker says so
/// and its interpreter is there. A half install (no marker) is redone, never trusted.
#[must_use]
pub fn venv_ready(venv: &Path) -> bool {
    let marker = storage::open_dir(venv)
        .ok()
        .and_then(|d| d.read_to_string(MARKER).ok());
    marker.is_some_and(|text| text == marker_text()) && venv_python(venv).is_file()
}

/// Runs `cmd` to completion; its output, or an error with its last lines.
fn run_tool(cmd: &mut Command, what: &str, hint: &str) -> Result<Vec<u8>, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{what}: `{program}` not found. {hint}")
        } else {
            format!("{what}: starting `{program}`: {e}")
        }
    })?;
    let mut all = out.stdout.clone();
    all.extend_from_slice(&out.stderr);
    if out.status.success() {
        return Ok(all);
    }
    Err(format!(
        "{what} failed ({}). Its last lines:\n{}\n{hint}",
        out.status,
        tail(&all, 20)
    ))
}

/// Creates the virtualenv at `venv` with `python` and installs this bench's release into
/// it, unless already done; returns its interpreter. Progress goes to stderr.
pub fn ensure_venv(python: &Path, venv: &Path) -> Result<PathBuf, String> {
    if venv_ready(venv) {
        return Ok(venv_python(venv));
    }
    // Never turn a folder that is not a virtualenv (or ours) into one.
    let occupied = storage::open_dir(venv)
        .ok()
        .and_then(|d| d.entries().ok())
        .is_some_and(|mut e| e.next().is_some());
    if occupied && !venv.join("pyvenv.cfg").is_file() {
        return Err(format!(
            "{} is not empty and not a virtualenv: name a new or empty folder with --venv",
            venv.display()
        ));
    }
    let dir = storage::create_dir(venv).map_err(|e| e.to_string())?;
    let _ = dir.remove_file(MARKER);
    let version = format!("nautilus_trader=={NAUTILUS_TRADER_VERSION}");
    let hint = format!(
        "{version} needs CPython 3.11, 3.12 or 3.13 (its Requires-Python: >=3.11,<3.14); name \
         such an interpreter with --python, or remove {} and retry",
        venv.display()
    );
    eprintln!(
        "stratbox bench peer: creating a virtualenv in {}",
        venv.display()
    );
    run_tool(
        Command::new(python).arg("-m").arg("venv").arg(venv),
        "creating the virtualenv",
        &format!("Install Python 3.11 with its venv module (Debian: python3-venv). {hint}"),
    )?;
    eprintln!(
        "stratbox bench peer: installing {version} from PyPI (a ~100 MB wheel; the first time takes a while)"
    );
    let vpy = venv_python(venv);
    let log = run_tool(
        Command::new(&vpy)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .arg(&version),
        &format!("`pip install {version}`"),
        &hint,
    )?;
    let _ = storage::write_atomic(&dir, "pip-install.log", &log);
    let out = run_tool(
        Command::new(&vpy).args([
            "-c",
            "import nautilus_trader; print(nautilus_trader.__version__)",
        ]),
        "importing nautilus_trader",
        &hint,
    )?;
    let got = String::from_utf8_lossy(&out).trim().to_string();
    if got != NAUTILUS_TRADER_VERSION {
        return Err(format!(
            "the virtualenv {} holds nautilus_trader {got}, not {NAUTILUS_TRADER_VERSION}: remove it and retry",
            venv.display()
        ));
    }
    storage::write_atomic(&dir, MARKER, marker_text().as_bytes()).map_err(|e| e.to_string())?;
    eprintln!(
        "stratbox bench peer: installed {version} in {}",
        venv.display()
    );
    Ok(vpy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtualenv_without_its_marker_is_installed_again() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        assert!(!venv_ready(&venv), "missing");
        let d = storage::create_dir(&venv).unwrap();
        let python = venv_python(&venv);
        let python_name = python.strip_prefix(&venv).unwrap();
        d.create_dir_all(python_name.parent().unwrap()).unwrap();
        d.write(python_name, "").unwrap();
        assert!(
            !venv_ready(&venv),
            "interpreter but no marker: a half install"
        );
        d.write(MARKER, "nautilus_trader==0.0.1\n").unwrap();
        assert!(!venv_ready(&venv), "another release");
        d.write(MARKER, marker_text()).unwrap();
        assert!(venv_ready(&venv));
        d.remove_file(python_name).unwrap();
        assert!(!venv_ready(&venv), "marker but no interpreter");
    }

    #[test]
    fn a_folder_that_is_not_a_virtualenv_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let d = storage::open_dir(dir.path()).unwrap();
        d.write("notes.txt", "mine").unwrap();
        let e = ensure_venv(Path::new("python3-not-used"), dir.path()).unwrap_err();
        assert!(e.contains("not a virtualenv"), "{e}");
        assert_eq!(d.read_to_string("notes.txt").unwrap(), "mine");
    }
}
