//! The data directory (decisions.md#data-directory): `ocd.db`, `secret.key` and the generated bootstrap `api.key`,
//! created with owner-only permissions.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::crypto;

#[derive(Debug)]
pub struct DataDir {
    pub path: PathBuf,
}

/// The bootstrap key and whether it was generated just now (so it is printed only once).
#[derive(Debug)]
pub struct BootstrapKey {
    pub key: String,
    pub generated: bool,
    pub stored_at: Option<PathBuf>,
}

impl DataDir {
    pub fn open(path: &Path) -> std::io::Result<DataDir> {
        fs::create_dir_all(path)?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
        Ok(DataDir { path: path.to_path_buf() })
    }

    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.path.join("ocd.db").display())
    }

    /// The 32-byte key that encrypts stored secrets, created on first use.
    pub fn secret_key(&self) -> std::io::Result<[u8; 32]> {
        let file = self.path.join("secret.key");
        match fs::read(&file) {
            Ok(bytes) => bytes.try_into().map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} must hold exactly 32 bytes", file.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = crypto::random_key();
                write_private(&file, &key)?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// `DASHBOARD_API_KEY` if set, else the key in `api.key`, else a new one written there (decisions.md#api-keys).
    pub fn bootstrap_key(&self, configured: Option<&str>) -> std::io::Result<BootstrapKey> {
        if let Some(key) = configured.filter(|k| !k.is_empty()) {
            return Ok(BootstrapKey { key: key.to_string(), generated: false, stored_at: None });
        }
        let file = self.path.join("api.key");
        match fs::read_to_string(&file) {
            Ok(text) if !text.trim().is_empty() => {
                Ok(BootstrapKey { key: text.trim().to_string(), generated: false, stored_at: Some(file) })
            }
            Ok(_) => self.generate_key(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.generate_key(file),
            Err(e) => Err(e),
        }
    }

    fn generate_key(&self, file: PathBuf) -> std::io::Result<BootstrapKey> {
        let key = format!("ocd_{}", crypto::random_hex(24));
        write_private(&file, key.as_bytes())?;
        Ok(BootstrapKey { key, generated: true, stored_at: Some(file) })
    }
}

fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(file)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ocd-datadir-{name}-{}", crypto::random_hex(6)))
    }

    #[test]
    fn keys_are_created_once_with_private_modes() {
        let path = temp_dir("keys");
        let dir = DataDir::open(&path).unwrap();
        let first = dir.bootstrap_key(None).unwrap();
        assert!(first.generated);
        let again = dir.bootstrap_key(None).unwrap();
        assert!(!again.generated);
        assert_eq!(first.key, again.key);
        assert_eq!(dir.secret_key().unwrap(), dir.secret_key().unwrap());
        let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(path.join("api.key")), 0o600);
        assert_eq!(mode(path.join("secret.key")), 0o600);
        assert_eq!(mode(path.clone()), 0o700);
        let configured = dir.bootstrap_key(Some("mine")).unwrap();
        assert_eq!(configured.key, "mine");
        fs::remove_dir_all(path).unwrap();
    }
}
