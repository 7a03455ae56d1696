//! Where MailPay keeps its files: the platform's config and data folders
//! (directories::ProjectDirs), or one folder named by `MAILPAY_HOME` (tests,
//! demos, several wallets side by side). Folders are created owner-only.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, thiserror::Error)]
pub enum PathError {
    #[error("no home folder is known for this user; set MAILPAY_HOME")]
    NoHome,
    #[error("cannot create {path}: {reason}")]
    Create { path: PathBuf, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn from_env() -> Result<Paths, PathError> {
        if let Some(home) = std::env::var_os("MAILPAY_HOME") {
            return Ok(Paths::under(Path::new(&home)));
        }
        let dirs = directories::ProjectDirs::from("org", "MailPay", "MailPay").ok_or(PathError::NoHome)?;
        Ok(Paths { config_dir: dirs.config_dir().to_path_buf(), data_dir: dirs.data_dir().to_path_buf() })
    }

    /// Everything under one folder.
    pub fn under(root: &Path) -> Paths {
        Paths { config_dir: root.join("config"), data_dir: root.join("data") }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("mailpay.sqlite3")
    }
}

/// Creates `dir` and its parents, the last one readable by its owner only.
pub fn create_private_dir(dir: &Path) -> Result<(), PathError> {
    let err = |e: std::io::Error| PathError::Create { path: dir.to_path_buf(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Makes the SQLite database at `path` owner-only before it is opened: a
/// new file is created with mode 0600 (SQLite gives its `-wal` and `-shm`
/// files the database's mode), an existing one and its `-wal` and `-shm`
/// are set to 0600.
pub fn private_database(path: &Path) -> Result<(), PathError> {
    let err = |e: std::io::Error| PathError::Create { path: path.to_path_buf(), reason: e.to_string() };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path).map_err(err)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            // Another connection closing may delete `-wal` and `-shm` at
            // any moment: a file that is not there needs no mode.
            match std::fs::set_permissions(PathBuf::from(file), std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = err;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// SQLite deletes `-wal` and `-shm` when its last connection closes,
    /// which may happen in another thread while a database is being opened
    /// (the bank agent starting while a reader closed its ledger): a file
    /// that vanishes meanwhile is not an error.
    #[test]
    fn a_journal_file_vanishing_during_the_check_is_not_an_error() {
        let dir = std::env::temp_dir().join(format!("mailpay-paths-race-{}", std::process::id()));
        create_private_dir(&dir).unwrap();
        let db = dir.join("race.sqlite");
        let wal = dir.join("race.sqlite-wal");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut vanished = 0;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::write(&wal, b"");
                    let _ = std::fs::remove_file(&wal);
                }
            });
            let result = (0..20_000).try_for_each(|_| {
                vanished += usize::from(!wal.exists());
                private_database(&db)
            });
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            result.unwrap();
        });
        assert!(vanished > 0, "the file never vanished: the race was not exercised");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
