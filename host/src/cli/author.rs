//! `stratbox new` and `stratbox build`: plugin crates wherever they live.

use std::path::PathBuf;

use super::{EXIT_REFUSED, fail, named::named};
use crate::author::{
    self, BuildOptions, NewOptions, SdkSource, Step, Template, guest::GUEST_TARGET,
};

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The new crate's folder; its last component is the strategy's name (lowercase
    /// letters, digits and `-`), e.g. `my-trend` or `~/strategies/my-trend`.
    pub path: PathBuf,
    /// What to start from.
    #[arg(long, value_parser = named::<Template>(), default_value_t = Template::EmaCross)]
    pub template: Template,
    /// Depend on the SDK from this git repository (the stratbox workspace) instead of by
    /// path on the stratbox source tree.
    #[arg(long, value_name = "URL")]
    pub sdk_git: Option<String>,
    /// With --sdk-git: the revision to pin (a commit hash or a tag).
    #[arg(long, value_name = "REV", requires = "sdk_git")]
    pub sdk_rev: Option<String>,
    /// The stratbox source tree (its sdk/, Cargo.lock, .cargo/config.toml and data/).
    /// Default: the tree this binary was built from.
    #[arg(long, env = "STRATBOX_SOURCE_ROOT")]
    pub source_root: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The plugin crate's folder.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Cargo's target folder (default: <dir>/target); share one between crates to build
    /// the SDK once.
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
    /// The component file to write (default: <dir>/target/stratbox/<package>.wasm).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn new(args: &NewArgs) -> u8 {
    let source_root = args
        .source_root
        .clone()
        .unwrap_or_else(author::guest::default_source_root);
    let sdk = match &args.sdk_git {
        Some(url) => SdkSource::Git {
            url: url.clone(),
            rev: args.sdk_rev.clone(),
        },
        None => SdkSource::Path(source_root.clone()),
    };
    let opts = NewOptions {
        path: args.path.clone(),
        template: args.template,
        sdk,
        source_root,
    };
    let created = match author::new::create(&opts) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let dir = created.dir.display();
    println!(
        "created {} ({} template) in {dir}",
        created.name, args.template
    );
    for f in &created.files {
        println!("  {f}");
    }
    let wasm = format!("target/stratbox/{}.wasm", created.name);
    println!("next:");
    println!("  cd {dir}");
    println!("  stratbox build");
    println!("  stratbox inspect {wasm}");
    println!("  stratbox backtest --plugin {wasm} {}", created.backtest);
    0
}

pub fn build(args: &BuildArgs) -> u8 {
    let opts = BuildOptions {
        dir: args.dir.clone(),
        target_dir: args.target_dir.clone(),
        out: args.out.clone(),
        echo: true,
    };
    let mut progress = |step: Step<'_>| match step {
        Step::InstallingTarget => eprintln!(
            "the {GUEST_TARGET} target is not installed: running `rustup target add {GUEST_TARGET}`"
        ),
        Step::NoRustup => eprintln!(
            "rustup is not available: assuming the toolchain has the {GUEST_TARGET} target"
        ),
        Step::Regenerated(files) => {
            eprintln!("the definition changed: regenerated {}", files.join(", "))
        }
        Step::Building {
            package,
            target_dir,
        } => eprintln!(
            "building {package} for {GUEST_TARGET} (cargo build --release, target folder {})",
            target_dir.display()
        ),
    };
    let built = match author::build::build(&opts, &mut progress) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    print!("{}", super::inspect::render(&built.path, &built.inspection));
    if built.inspection.accepted {
        println!("component: {}", built.path.display());
        0
    } else {
        eprintln!(
            "error: the host would refuse {} (reasons above); nothing was written to {}",
            built.package,
            built.path.display()
        );
        EXIT_REFUSED
    }
}
