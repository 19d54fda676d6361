//! The bundled recordings are in the repository, listed in `data/SHA256SUMS`, and unchanged:
//! a clone with nothing beside it has every file the tests, the demo and the docs use.

use std::{collections::BTreeMap, path::Path};

use sha2::{Digest, Sha256};

use crate::fixtures::DATA;

/// Files of `data/` that are ours, not recordings (they change with the code).
const OURS: &[&str] = &["README.md", "SHA256SUMS", "instruments.toml"];

fn files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            files(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

#[test]
fn every_bundled_recording_is_listed_and_unchanged() {
    let sums = std::fs::read_to_string(format!("{DATA}/SHA256SUMS")).unwrap();
    let listed: BTreeMap<&str, &str> = sums
        .lines()
        .map(|l| {
            let (sum, name) = l.split_once("  ").expect("`<sha256>  <file>` lines");
            (name, sum)
        })
        .collect();
    let mut present = Vec::new();
    files(Path::new(DATA), "", &mut present);
    present.retain(|f| !OURS.contains(&f.as_str()));
    present.sort();
    assert_eq!(
        present,
        listed.keys().map(ToString::to_string).collect::<Vec<_>>(),
        "data/ and data/SHA256SUMS disagree: list a new recording with its provenance in data/README.md"
    );
    for (name, sum) in listed {
        let bytes = std::fs::read(format!("{DATA}/{name}")).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sum, "{name} changed");
    }
    let readme = std::fs::read_to_string(format!("{DATA}/README.md")).unwrap();
    for name in present {
        assert!(
            readme.contains(&format!("`{name}`")),
            "data/README.md does not describe {name}"
        );
    }
}
