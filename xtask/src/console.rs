//! `cargo xtask console`: a running service to look at. Starts `stratbox serve` with a
//! fresh state under `<target>/console-demo`, issues an admin token, uploads ema-cross,
//! requests and approves its grant, deploys it as a paper session on a Nautilus `LiveNode`
//! replaying the bundled GBP/USD minutes at one hour per second, and prints the console's
//! URL and the token to sign in with. The server runs until Ctrl-C.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};

/// Builds what is needed and returns the `stratbox` binary.
pub type Build<'a> = &'a dyn Fn(&Path) -> Result<PathBuf>;

/// Runs `stratbox <args> --server <base> --token <token>` and reads its JSON answer.
fn cli(bin: &Path, base: &str, token: &str, args: &[&str]) -> Result<serde_json::Value> {
    let out = Command::new(bin)
        .args(args)
        .args(["--server", base, "--token", token])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("stratbox {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("stratbox {} failed ({})", args.join(" "), out.status);
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("stratbox {}: the answer is not JSON", args.join(" ")))
}

/// Runs the console demo (see the module documentation).
pub fn run(root: &Path, listen: &str, build: Build<'_>) -> Result<()> {
    let bin = build(root)?;
    let target = bin
        .parent()
        .and_then(Path::parent)
        .context("the binary lives in <target>/<profile>")?
        .to_path_buf();
    let dir = target.join("console-demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing the previous demo's state {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("state"))?;
    let db = format!("sqlite://{}", dir.join("stratbox.db").display());
    let key = dir.join("state").join("audit-signing.key");
    let created = Command::new(&bin)
        .args([
            "tokens",
            "create",
            "--name",
            "demo-admin",
            "--role",
            "admin",
        ])
        .arg("--database-url")
        .arg(&db)
        .arg("--audit-key")
        .arg(&key)
        .stderr(Stdio::inherit())
        .output()
        .context("stratbox tokens create")?;
    if !created.status.success() {
        bail!("stratbox tokens create failed");
    }
    let token = String::from_utf8(created.stdout)?
        .split_whitespace()
        .find(|w| w.starts_with("sbx_"))
        .context("`stratbox tokens create` printed no token")?
        .to_string();
    let mut server = Command::new(&bin)
        .current_dir(root)
        .args(["serve", "--listen", listen])
        .arg("--database-url")
        .arg(&db)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--data-dir")
        .arg(root.join("data"))
        .stderr(Stdio::piped())
        .spawn()
        .context("starting stratbox serve")?;
    let stderr = server.stderr.take().context("the server's stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            let status = server.wait()?;
            bail!("stratbox serve exited ({status}) before listening; is {listen} in use?");
        };
        let line = line?;
        eprintln!("{line}");
        if let Some(a) = line.strip_prefix("stratbox service listening on http://") {
            break a.trim().to_string();
        }
    };
    // Keep echoing the server's log.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("{line}");
        }
    });
    let base = format!("http://{addr}");
    let seeded = seed(
        &bin,
        &dir,
        &base,
        &token,
        &target.join("plugins").join("ema-cross.wasm"),
    );
    if let Err(e) = seeded {
        let _ = server.kill();
        return Err(e);
    }
    eprintln!(
        "\n  console:  {base}/\n  sign in with the admin token:\n    {token}\n  (state in {}; Ctrl-C stops the server)\n",
        dir.display()
    );
    let status = server.wait()?;
    eprintln!("stratbox serve ended: {status}");
    Ok(())
}

/// Upload, grant, approve, deploy: with the CLI, as an operator would.
fn seed(bin: &Path, dir: &Path, base: &str, token: &str, component: &Path) -> Result<()> {
    let component = component.to_str().context("a UTF-8 path")?;
    let plugin = cli(bin, base, token, &["upload", component])?;
    let digest = plugin["digest"].as_str().context("no digest")?.to_string();
    let instrument = "GBP/USD.FXCM";
    let grant_file = dir.join("grant.json");
    std::fs::write(
        &grant_file,
        serde_json::json!({ "capabilities": {
            "market-data": { "instruments": [instrument] },
            "risk-gate": { "instruments": [instrument] }
        } })
        .to_string(),
    )?;
    let grant_file = grant_file.to_str().context("a UTF-8 path")?;
    let grant = cli(
        bin,
        base,
        token,
        &[
            "grants",
            "request",
            "--digest",
            &digest,
            "--file",
            grant_file,
            "--reason",
            "console demo",
        ],
    )?;
    let grant_id = grant["id"].as_str().context("no grant id")?.to_string();
    cli(
        bin,
        base,
        token,
        &["grants", "approve", &grant_id, "--note", "console demo"],
    )?;
    let request = dir.join("deployment.json");
    std::fs::write(
        &request,
        serde_json::json!({
            "plugin": digest,
            "grant": grant_id,
            "params": {},
            "risk_policy": "version = \"demo\"\ncurrency = \"USD\"\n[defaults]\nmax_position = \"300000\"\n",
            "session": { "kind": "live", "data": "fxcm/gbpusd-m1-bid-2012.csv", "format": "fxcm-quotes",
                         "instrument": instrument, "speed": 3600 }
        })
        .to_string(),
    )?;
    let dep = cli(
        bin,
        base,
        token,
        &["deploy", request.to_str().context("a UTF-8 path")?],
    )?;
    eprintln!(
        "  deployed {} (ema-cross paper trading GBP/USD on a LiveNode, one hour of data per second)",
        dep["id"].as_str().unwrap_or("?")
    );
    Ok(())
}
