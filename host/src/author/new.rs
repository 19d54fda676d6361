//! `stratbox new`: a standalone plugin crate from a template.
//!
//! The crate is written into a staging folder beside its destination (every file synced)
//! and renamed into place at the end, so a failure leaves nothing half written; an existing
//! folder is only used if it is empty.

use std::path::{Path, PathBuf};

use super::{
    AuthorError, check_name,
    guest::{self, toml_path},
    templates,
};
use crate::storage;

crate::named_enum! {
    /// What `stratbox new` starts from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Template: "template" {
        EmaCross = "ema-cross":
            "An EMA cross of the quote mid price, in Rust (trades the bundled GBP/USD minutes).",
        Rules = "rules":
            "Rules in a strategy definition (definition.json), run by the SDK's rules runtime.",
        Signals = "signals":
            "AI regime signals with a time stop, in Rust (trades the bundled BTC perpetual and its signals).",
    }
}

/// Where the crate takes the SDK from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSource {
    /// A stratbox source tree on this machine (its `sdk/` and `sdk/rules/`).
    Path(PathBuf),
    /// A git repository holding the stratbox workspace, at `rev` (default: its default
    /// branch).
    Git { url: String, rev: Option<String> },
}

impl SdkSource {
    /// The inline TOML of a dependency on the SDK crate at `rel` in the stratbox tree
    /// (`sdk`, `sdk/rules`), `extra` keys appended.
    fn dependency(&self, rel: &str, extra: &str) -> String {
        match self {
            Self::Path(root) => format!("{{ path = {}{extra} }}", toml_path(&root.join(rel))),
            Self::Git { url, rev } => {
                let rev = rev
                    .as_ref()
                    .map(|r| format!(", rev = {}", toml_str(r)))
                    .unwrap_or_default();
                format!("{{ git = {}{rev}{extra} }}", toml_str(url))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Path(root) => format!("by path, from {}", root.join("sdk").display()),
            Self::Git {
                url,
                rev: Some(rev),
            } => format!("from git, {url} at {rev}"),
            Self::Git { url, rev: None } => format!("from git, {url}"),
        }
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// What `stratbox new` writes, and from what.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The crate's folder; its last component is the crate's name.
    pub path: PathBuf,
    pub template: Template,
    pub sdk: SdkSource,
    /// The stratbox source tree: its `Cargo.lock` and `.cargo/config.toml` are copied, and
    /// the README's backtest command names its `data/`.
    pub source_root: PathBuf,
}

/// A crate `stratbox new` wrote.
#[derive(Debug, Clone)]
pub struct Created {
    pub name: String,
    pub dir: PathBuf,
    /// Relative paths of the files written.
    pub files: Vec<String>,
    /// The backtest arguments after `--plugin <component>` (as in the README).
    pub backtest: String,
}

/// Writes the crate `opts.path`; refuses an invalid name and a folder that exists and is
/// not empty.
pub fn create(opts: &NewOptions) -> Result<Created, AuthorError> {
    let name = opts
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            AuthorError::Invalid(format!(
                "`{}` does not end in a name; give the new crate's folder, e.g. `stratbox new my-trend`",
                opts.path.display()
            ))
        })?
        .to_string();
    check_name(&name)?;
    if let SdkSource::Git { url, .. } = &opts.sdk
        && url.trim().is_empty()
    {
        return Err(AuthorError::Invalid(
            "--sdk-git needs a repository URL".into(),
        ));
    }
    let parent = opts
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let files = files(&name, opts)?;
    let dir = storage::create_dir(parent)?;
    refuse_existing(&dir, &name, &opts.path)?;
    let staging = format!(".{name}.stratbox-new.{}", std::process::id());
    let _ = dir.remove_dir_all(&staging);
    let io = |what: String| move |source| AuthorError::Io { what, source };
    let written = guest::write_crate(&dir, &staging, &files)
        .map_err(io(format!("writing {}", parent.join(&staging).display())))
        .and_then(|()| {
            // Onto a missing or empty folder (rename(2) replaces an empty directory).
            dir.rename(&staging, &dir, &name).map_err(io(format!(
                "moving the new crate into {}",
                opts.path.display()
            )))
        });
    if let Err(e) = written {
        let _ = dir.remove_dir_all(&staging);
        return Err(e);
    }
    Ok(Created {
        files: files.into_iter().map(|(p, _)| p).collect(),
        backtest: backtest_args(opts.template, &opts.source_root.join("data")),
        dir: opts.path.clone(),
        name,
    })
}

/// Refuses a destination (`name` in `dir`, shown as `path`) that is a file, or a folder
/// with anything in it.
fn refuse_existing(dir: &cap_std::fs::Dir, name: &str, path: &Path) -> Result<(), AuthorError> {
    let in_the_way = |why: &str| {
        AuthorError::Invalid(format!(
            "{} {why}; choose another name or folder (nothing was written)",
            path.display()
        ))
    };
    let io = |what: &str, source| AuthorError::Io {
        what: format!("{what} {}", path.display()),
        source,
    };
    match dir.symlink_metadata(name) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("looking at", e)),
        Ok(m) if !m.is_dir() => Err(in_the_way("exists and is not a folder")),
        Ok(_) => {
            let mut entries = dir.read_dir(name).map_err(|e| io("reading", e))?;
            if entries.next().is_some() {
                Err(in_the_way("already exists and is not empty"))
            } else {
                Ok(())
            }
        }
    }
}

/// The backtest arguments that trade the bundled data under `data` with `template`.
fn backtest_args(template: Template, data: &Path) -> String {
    let d = |rel: &str| data.join(rel).display().to_string();
    match template {
        Template::EmaCross | Template::Rules => {
            format!("--data {}", d("fxcm/gbpusd-m1-bid-2012.csv"))
        }
        Template::Signals => format!(
            "--data {} --format ohlcv-bars --signals {}",
            d("btc-perp/btc-perp-20211231-20220201_1m.csv"),
            d("signals/btc-perp-regimes-2022-01.jsonl")
        ),
    }
}

/// What a template contributes to the crate.
struct Parts {
    /// One line for the README and the package description.
    about: &'static str,
    /// Dependencies besides the SDK, as `Cargo.toml` lines.
    deps: String,
    /// `Cargo.toml` text between `[package]` and `[lib]`.
    metadata: &'static str,
    /// The README's notes on the template's own files.
    notes: &'static str,
    /// The template's own files, `{{name}}` filled in.
    files: Vec<(&'static str, String)>,
}

fn parts(name: &str, opts: &NewOptions) -> Result<Parts, AuthorError> {
    let fill = |text: &str| text.replace("{{name}}", name);
    Ok(match opts.template {
        Template::EmaCross => Parts {
            about: "an EMA cross of the quote mid price, long or short `trade_size`.",
            deps: String::new(),
            metadata: "",
            notes: templates::ema_cross::FILES,
            files: vec![
                ("stratbox.toml", fill(templates::ema_cross::MANIFEST)),
                ("src/lib.rs", fill(templates::ema_cross::LIB_RS)),
            ],
        },
        Template::Signals => Parts {
            about: "AI regime signals, long or short `trade_size`, with a time stop.",
            deps: String::new(),
            metadata: "",
            notes: templates::signals::FILES,
            files: vec![
                ("stratbox.toml", fill(templates::signals::MANIFEST)),
                ("src/lib.rs", fill(templates::signals::LIB_RS)),
            ],
        },
        Template::Rules => {
            let definition = fill(templates::rules::DEFINITION);
            let lib_rs = fill(templates::rules::LIB_RS_HEADER) + templates::RULES_PROGRAM_EXPORT;
            let generated = super::build::lower_definition("definition.json", &definition)?;
            let mut files = vec![("definition.json", definition), ("src/lib.rs", lib_rs)];
            files.extend(generated);
            Parts {
                about: "rules over moving averages of the GBP/USD quote mid, as a strategy definition.",
                deps: format!(
                    "stratbox-rules = {}\n",
                    opts.sdk.dependency(
                        "sdk/rules",
                        r#", default-features = false, features = ["runtime"]"#
                    )
                ),
                metadata: "\n# `stratbox build` checks definition.json and regenerates stratbox.toml,\n\
                           # program.json and risk-policy.toml from it before building.\n\
                           [package.metadata.stratbox]\ndefinition = \"definition.json\"\n",
                notes: templates::rules::FILES,
                files,
            }
        }
    })
}

/// The crate's files, as (relative path, contents).
fn files(name: &str, opts: &NewOptions) -> Result<Vec<(String, Vec<u8>)>, AuthorError> {
    let p = parts(name, opts)?;
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false
description = {description}
{metadata}
[lib]
# A cdylib becomes the component; the rlib lets native tests use the strategy.
crate-type = ["cdylib", "rlib"]

[dependencies]
stratbox-sdk = {sdk}
{deps}
{profile}
# A cargo workspace of its own, wherever it is.
[workspace]
"#,
        description = toml_str(&format!(
            "A stratbox strategy: {}",
            p.about.replace('`', "")
        )),
        metadata = p.metadata,
        sdk = opts.sdk.dependency("sdk", ""),
        deps = p.deps,
        profile = guest::RELEASE_PROFILE,
    );
    let readme = templates::README
        .replace("{{name}}", name)
        .replace("{{about}}", p.about)
        .replace("{{template}}", &opts.template.to_string())
        .replace(
            "{{backtest}}",
            &backtest_args(opts.template, &opts.source_root.join("data")),
        )
        .replace("{{files}}", p.notes.trim_end())
        .replace("{{sdk}}", &opts.sdk.describe());
    let mut out: Vec<(String, Vec<u8>)> = vec![
        ("Cargo.toml".into(), cargo_toml.into_bytes()),
        ("README.md".into(), readme.into_bytes()),
        (".gitignore".into(), b"/target\n".to_vec()),
    ];
    out.extend(guest::pinning_files(&opts.source_root)?);
    out.extend(
        p.files
            .into_iter()
            .map(|(path, text)| (path.to_string(), text.into_bytes())),
    );
    Ok(out)
}
