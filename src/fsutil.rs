//! Files at rest: everything mailcart writes (database, lock, outbox, exports, the config that
//! `init` makes) holds customers' names, addresses and messages or the shop's secrets, so it is
//! created readable by its owner alone, whatever the umask of whoever runs us. And when a file
//! made elsewhere (by an older version, or by hand) is readable by others, `check` and `run`
//! say so with the `chmod` that fixes it, as ssh does for private keys.
//!
//! New code that creates a file or folder calls these helpers (a token store beside the
//! database: `create_private_file`), not `std::fs::write` / `create_dir_all`.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Read and write for the owner only.
pub const FILE_MODE: u32 = 0o600;
/// Read, write and enter for the owner only.
pub const DIR_MODE: u32 = 0o700;

/// The mask `main` sets before anything else: the belt to these helpers' braces, for files the
/// libraries we use create themselves (SQLite's -wal and -shm take the database file's mode,
/// which is set here, but a library might not).
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Create `path` (or truncate it) for writing, owner-only when it is new. An existing file
/// keeps its mode: it is the owner's choice.
pub fn create_private_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Open `path` for writing without truncating it, creating it owner-only if missing (a lock
/// file, a database about to be opened by SQLite).
pub fn open_private_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
}

/// `std::fs::write`, owner-only when the file is new.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private_file(path)?.write_all(bytes)
}

/// `std::fs::create_dir_all`, every folder it creates owner-only (those that exist are left
/// as they are).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// The mode bits of `path` that let group or others in (0 for none); None when it does not
/// exist or cannot be read.
pub fn exposed_bits(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    Some(mode & 0o077)
}

/// Why a file mailcart keeps is open to other users of the machine, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub path: PathBuf,
    pub mode: u32,
    /// What it holds, in words ("holds a password (`[imap] password`)").
    pub what: String,
    /// The command that fixes it.
    pub fix: String,
}

impl std::fmt::Display for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} and can be read by other users of this machine (mode {:04o}): run `{}`",
            self.path.display(),
            self.what,
            self.mode,
            self.fix
        )
    }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0)
}

/// The keys of a config file that hold a secret inline: `password` in `[imap]` or `[smtp]`,
/// and `client_secret` anywhere (`[oauth2]`). Keys that only name where a secret is kept
/// (`password_env`, `password_file`) hold none.
pub fn inline_secrets(config_text: &str) -> Vec<String> {
    let Ok(table) = config_text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for section in ["imap", "smtp"] {
        if table.get(section).and_then(|s| s.get("password")).is_some() {
            found.push(format!("[{section}] password"));
        }
    }
    fn walk(t: &toml::Table, at: &str, found: &mut Vec<String>) {
        for (k, v) in t {
            if k == "client_secret" {
                found.push(if at.is_empty() {
                    k.clone()
                } else {
                    format!("[{at}] {k}")
                });
            }
            if let toml::Value::Table(inner) = v {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                walk(inner, &path, found);
            }
        }
    }
    walk(&table, "", &mut found);
    found
}

/// What `check` and `run` warn about: the config when it holds a secret inline, the database
/// (and its -wal/-shm) and the outbox folder, each when group or others can read it.
pub fn exposures(config_path: &Path, config: &crate::config::Config) -> Vec<Exposure> {
    let mut out = Vec::new();
    if exposed_bits(config_path).is_some_and(|b| b != 0)
        && let Ok(text) = std::fs::read_to_string(config_path)
    {
        let keys = inline_secrets(&text);
        if !keys.is_empty() {
            out.push(Exposure {
                path: config_path.to_owned(),
                mode: mode_of(config_path),
                what: format!("holds a secret inline ({})", keys.join(", ")),
                fix: format!("chmod 600 {}", shell_word(config_path)),
            });
        }
    }
    let db = &config.storage.database;
    if exposed_bits(db).is_some_and(|b| b != 0) {
        let mut files = vec![shell_word(db)];
        for suffix in ["-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let p = PathBuf::from(name);
            if p.exists() {
                files.push(shell_word(&p));
            }
        }
        out.push(Exposure {
            path: db.clone(),
            mode: mode_of(db),
            what: "holds every customer's name, address and messages".into(),
            fix: format!("chmod 600 {}", files.join(" ")),
        });
    }
    let dir = &config.outbox.dir;
    if exposed_bits(dir).is_some_and(|b| b != 0) {
        out.push(Exposure {
            path: dir.clone(),
            mode: mode_of(dir),
            what: "holds a copy of every email sent".into(),
            fix: format!("chmod -R go= {}", shell_word(dir)),
        });
    }
    out
}

/// A path as one word for a POSIX shell, quoted only when it needs to be.
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_and_folders_are_owner_only_whatever_the_umask() {
        // The mask is the process's: set one as permissive as a stock login's, for this test
        // binary only (no other test here creates files that care).
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        create_private_dir(&nested).unwrap();
        for d in [dir.path().join("a"), dir.path().join("a/b"), nested.clone()] {
            assert_eq!(mode_of(&d), 0o700, "{}", d.display());
        }
        let f = nested.join("f");
        write_private(&f, b"x").unwrap();
        assert_eq!(mode_of(&f), 0o600);
        let g = nested.join("g");
        drop(open_private_file(&g).unwrap());
        assert_eq!(mode_of(&g), 0o600);
        // What the owner chose for an existing file stands.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_private(&f, b"y").unwrap();
        assert_eq!(mode_of(&f), 0o640);
    }

    #[test]
    fn secrets_inline_are_found_and_references_are_not() {
        let text = r#"
            [shop]
            name = "x"
            [imap]
            username = "u"
            password = "p"
            [smtp]
            username = "u"
            password_env = "SMTP_PW"
            [oauth2]
            provider = "google"
            client_secret = "s"
        "#;
        assert_eq!(
            inline_secrets(text),
            ["[imap] password", "[oauth2] client_secret"]
        );
        let refs = "[imap]\npassword_file = \"pw\"\n[smtp]\npassword_env = \"X\"\n[oauth2]\nclient_secret_file = \"s\"\n";
        assert!(inline_secrets(refs).is_empty());
        assert!(inline_secrets("not toml [").is_empty());
        // A password in a section that does not send one is no secret of ours.
        assert!(inline_secrets("[shop]\npassword = \"x\"\n").is_empty());
    }

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(
            shell_word(Path::new("/srv/shop/config.toml")),
            "/srv/shop/config.toml"
        );
        assert_eq!(
            shell_word(Path::new("/my shop/it's.toml")),
            r"'/my shop/it'\''s.toml'"
        );
    }
}
