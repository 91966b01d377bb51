//! The run's output directory and atomic whole-file writes.
//!
//! A run checks its directory before simulating anything, so a typo or a
//! read-only place fails in milliseconds rather than after an hour of work.
//! Whole files (such as `summary.json`) are written through [`write_atomic`]: a
//! reader sees either the previous file or the complete new one, never half.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::metrics::sink::OutputError;

/// A directory that existed and was writable when the run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDir {
    path: PathBuf,
}

impl OutDir {
    /// Create the directory (and parents) and prove it is writable by creating and
    /// removing a probe file; a clear error (path + OS reason) otherwise, so a run
    /// fails before it starts.
    pub fn prepare(path: &Path) -> Result<OutDir, OutputError> {
        fs::create_dir_all(path).map_err(|e| OutputError::io("create directory", path, e))?;
        // Permissions bits alone do not answer the question (root, ACLs, read-only
        // mounts), so try the real thing.
        let probe = path.join(format!(".asyncflow-probe-{}", std::process::id()));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)
            .map_err(|e| OutputError::io("write in directory", path, e))?;
        let written = file.write_all(b"probe");
        drop(file);
        let removed = fs::remove_file(&probe);
        written.map_err(|e| OutputError::io("write in directory", path, e))?;
        removed.map_err(|e| OutputError::io("remove probe file", &probe, e))?;
        Ok(OutDir {
            path: path.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// The hidden temporary name a file is written under before it is renamed to
/// `path`: `.NAME.partial` in the same directory, so the rename never crosses a
/// file system.
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// Make a completed rename durable: fsync the directory that holds it.
pub(crate) fn sync_dir(path: &Path) -> Result<(), OutputError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Directories can be opened read-only and fsynced on Unix; elsewhere the
    // rename is as durable as the platform makes it.
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| OutputError::io("sync directory", dir, e))?;
    }
    Ok(())
}

/// Write bytes to `path` atomically: temp file in the same dir, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = partial_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(|e| OutputError::io("create", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| OutputError::io("write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| OutputError::io("sync", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| OutputError::io("rename into place", path, e))
    })();
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_creates_nested_directories_and_leaves_no_probe() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/c");
        let out = OutDir::prepare(&dir).unwrap();
        assert_eq!(out.path(), dir);
        assert!(dir.is_dir());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn prepare_under_a_regular_file_names_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain");
        fs::write(&file, b"x").unwrap();
        let dir = file.join("out");
        let err = OutDir::prepare(&dir).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        assert!(matches!(err, OutputError::Io { .. }));
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("summary.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.json"]);
    }

    #[test]
    fn write_atomic_into_a_missing_directory_fails_cleanly() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("missing/summary.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn partial_name_is_hidden_and_beside_the_target() {
        let p = partial_path(Path::new("/x/y/requests.parquet"));
        assert_eq!(p, Path::new("/x/y/.requests.parquet.partial"));
    }
}
