//! The host's own file access, through `cap-std` directory handles.
//!
//! Ambient authority is used in exactly one way: to open the directory an operator named
//! on the command line (or in configuration). Everything below it is reached through the
//! `Dir` handle, so a name that comes from a user or a plugin cannot escape it (`..`,
//! absolute paths and symlinks out of the directory are refused by `cap-std`).

use std::path::{Path, PathBuf};

use cap_std::{ambient_authority, fs::Dir};

/// A file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot open directory `{path}`: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is {size} bytes, over the {limit}-byte limit for this kind of file")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("`{0}` does not name a file")]
    NotAFile(PathBuf),
    #[error("cannot write `{name}`: {source}")]
    Write {
        name: String,
        source: std::io::Error,
    },
}

/// Creates (if needed) and opens an output directory the operator named.
pub fn create_dir(path: &Path) -> Result<Dir, StorageError> {
    Dir::create_ambient_dir_all(path, ambient_authority()).map_err(|source| StorageError::Dir {
        path: path.to_path_buf(),
        source,
    })?;
    open_dir(path)
}

/// Writes `name` in `dir` atomically: a temporary file with a random name in the same
/// directory (`cap-tempfile`: unnamed `O_TMPFILE` on Linux, removed if anything fails),
/// fsync of the file, rename over `name`, then fsync of the directory so that the rename
/// itself survives a crash. A reader sees the old file or the new one, never half of one,
/// and concurrent writers (threads or processes) never share a temporary.
pub fn write_atomic(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
    write_atomic_with(dir, name, bytes, false)
}

/// [`write_atomic`] for a secret (a signing key): readable and writable by the owner only,
/// from before its first byte is written.
pub fn write_atomic_private(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
    write_atomic_with(dir, name, bytes, true)
}

fn write_atomic_with(
    dir: &Dir,
    name: &str,
    bytes: &[u8],
    private: bool,
) -> Result<(), StorageError> {
    write_atomic_by(dir, name, private, |file| {
        use std::io::Write;
        file.write_all(bytes)
    })
}

/// Writes `name` in `dir` whole or not at all, with `fill` writing its content into a
/// temp file in `dir`: the temp file is fsynced, renamed over `name`, and `dir` fsynced.
///
/// # Errors
/// `fill` failed, or an I/O error.
pub fn write_atomic_by(
    dir: &Dir,
    name: &str,
    private: bool,
    fill: impl FnOnce(&mut cap_std::fs::File) -> std::io::Result<()>,
) -> Result<(), StorageError> {
    let write = || -> std::io::Result<()> {
        let mut tmp = cap_tempfile::TempFile::new(dir)?;
        if private {
            owner_only(tmp.as_file_mut())?;
        }
        fill(tmp.as_file_mut())?;
        tmp.as_file_mut().sync_all()?;
        tmp.replace(name)?;
        dir.open(".")?.sync_all()
    };
    write().map_err(|source| StorageError::Write {
        name: name.to_string(),
        source,
    })
}

#[cfg(unix)]
fn owner_only(file: &mut cap_std::fs::File) -> std::io::Result<()> {
    use cap_std::fs::PermissionsExt;
    file.set_permissions(cap_std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn owner_only(_file: &mut cap_std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Opens a directory the operator named (the one place ambient authority is used).
pub fn open_dir(path: &Path) -> Result<Dir, StorageError> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    Dir::open_ambient_dir(path, ambient_authority()).map_err(|source| StorageError::Dir {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a file the operator named on the command line, refusing files over `limit` bytes
/// before reading them.
pub fn read_operator_file(path: &Path, limit: u64) -> Result<Vec<u8>, StorageError> {
    let name = path
        .file_name()
        .ok_or_else(|| StorageError::NotAFile(path.to_path_buf()))?;
    let dir = open_dir(path.parent().unwrap_or(Path::new(".")))?;
    let read_err = |source| StorageError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = dir.metadata(name).map_err(read_err)?;
    if !meta.is_file() {
        return Err(StorageError::NotAFile(path.to_path_buf()));
    }
    if meta.len() > limit {
        return Err(StorageError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit,
        });
    }
    dir.read(name).map_err(read_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open_dir(tmp.path()).unwrap();
        dir.write("a.wasm", b"abc").unwrap();
        assert_eq!(
            read_operator_file(&tmp.path().join("a.wasm"), 10).unwrap(),
            b"abc"
        );
        assert!(matches!(
            read_operator_file(&tmp.path().join("a.wasm"), 2),
            Err(StorageError::TooLarge { size: 3, .. })
        ));
        assert!(matches!(
            read_operator_file(&tmp.path().join("missing"), 10),
            Err(StorageError::Read { .. })
        ));
        assert!(matches!(
            read_operator_file(tmp.path(), 10),
            Err(StorageError::NotAFile(_)) | Err(StorageError::Read { .. })
        ));
    }

    #[test]
    fn writes_atomically_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = create_dir(&tmp.path().join("out/deeper")).unwrap();
        write_atomic(&dir, "r.json", b"one").unwrap();
        write_atomic(&dir, "r.json", b"two").unwrap();
        assert_eq!(dir.read("r.json").unwrap(), b"two");
        let names: Vec<_> = dir
            .entries()
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("r.json")]);
        assert!(write_atomic(&dir, "../escape.json", b"x").is_err());
    }

    #[test]
    fn concurrent_writers_in_one_process_each_write_a_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::sync::Arc::new(create_dir(tmp.path()).unwrap());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8_u8)
            .map(|i| {
                let (dir, barrier) = (dir.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..20)
                        .map(|_| write_atomic(&dir, "state.json", &[i; 4096]))
                        .collect::<Result<Vec<()>, _>>()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let content = dir.read("state.json").unwrap();
        assert_eq!(content.len(), 4096);
        assert!(
            content.iter().all(|b| *b == content[0]),
            "one writer's bytes"
        );
        assert_eq!(dir.entries().unwrap().count(), 1, "no temporary left");
    }
}
