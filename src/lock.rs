//! One daemon per database: `mailcart run` holds an exclusive lock beside the database file,
//! and commands that would otherwise send mail themselves leave it to the running daemon.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another `mailcart run` is already using {0}")]
    Held(PathBuf),
    #[error("cannot open the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for as long as the value lives; the OS releases it if the process dies.
pub struct DaemonLock {
    _file: File,
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open(path: &Path) -> Result<File, LockError> {
    crate::fsutil::open_private_file(path).map_err(|source| LockError::Io {
        path: path.to_owned(),
        source,
    })
}

impl DaemonLock {
    pub fn acquire(database: &Path) -> Result<DaemonLock, LockError> {
        let path = lock_path(database);
        let file = open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(DaemonLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held(database.to_owned())),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }

    /// Whether a daemon is running on this database right now.
    pub fn is_held(database: &Path) -> bool {
        matches!(DaemonLock::acquire(database), Err(LockError::Held(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        assert!(!DaemonLock::is_held(&db));
        let lock = DaemonLock::acquire(&db).unwrap();
        assert!(DaemonLock::is_held(&db));
        assert!(matches!(DaemonLock::acquire(&db), Err(LockError::Held(_))));
        drop(lock);
        assert!(!DaemonLock::is_held(&db));
    }
}
