//! The refresh token, in a file beside the database that only its owner can read (0600),
//! replaced atomically (a new file renamed over the old), never in config.toml.
//!
//! A file rather than a table: the token is a credential, not shop data, so it stays out of
//! exports and database copies, and a `mailcart login` can replace it while the daemon runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{OAuthError, Secret};

/// What the file holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredToken {
    /// Which client the token was issued to: a config pointing at another gets a clear error
    /// instead of a refused grant.
    pub provider: String,
    pub client_id: String,
    #[serde(with = "secret_string")]
    pub refresh_token: Secret,
    pub saved_at: String,
    /// When the provider last refused it (invalid_grant); None while it works.
    #[serde(default)]
    pub refused_at: Option<String>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("refresh_token", &self.refresh_token)
            .field("saved_at", &self.saved_at)
            .field("refused_at", &self.refused_at)
            .finish()
    }
}

mod secret_string {
    use super::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    pub fn new(path: PathBuf) -> TokenStore {
        TokenStore { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, message: String) -> OAuthError {
        OAuthError::Store {
            path: self.path.display().to_string(),
            message,
        }
    }

    /// The stored token; None when `mailcart login` has not been run.
    pub fn load(&self) -> Result<Option<StoredToken>, OAuthError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(format!("cannot read it: {e}"))),
        };
        // serde_json's error names a line and column, never the text it choked on.
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| self.error(format!("damaged ({e}); run `mailcart login` again")))
    }

    pub fn save(&self, token: &StoredToken) -> Result<(), OAuthError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let json = serde_json::to_vec_pretty(token)
            .map_err(|e| self.error(format!("cannot encode it: {e}")))?;
        // tempfile creates the file 0600 before a byte is written.
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| self.error(format!("cannot create a file in {}: {e}", dir.display())))?;
        tmp.write_all(&json)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.error(format!("cannot write it: {e}")))?;
        tmp.persist(&self.path)
            .map_err(|e| self.error(format!("cannot put it in place: {}", e.error)))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Note that the provider refused the token, for `status` and `check`.
    pub fn mark_refused(&self) -> Result<(), OAuthError> {
        if let Some(mut t) = self.load()?
            && t.refused_at.is_none()
        {
            t.refused_at = Some(crate::store::ts(time::OffsetDateTime::now_utc()));
            self.save(&t)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_store_is_owner_only_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("shop.db.oauth2-token"));
        assert!(store.load().unwrap().is_none());
        let token = StoredToken {
            provider: "google".into(),
            client_id: "id".into(),
            refresh_token: Secret::new("1//refresh-secret".into()),
            saved_at: "t".into(),
            refused_at: None,
        };
        store.save(&token).unwrap();
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{token:?}").contains("refresh-secret"));
        store.mark_refused().unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.refresh_token.expose(), "1//refresh-secret");
        assert!(back.refused_at.is_some());
        std::fs::write(store.path(), "{ not json").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("mailcart login"), "{err}");
    }
}
