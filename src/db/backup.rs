//! `ocd backup FILE`: a consistent copy of the SQLite database, taken while ocd runs.
//! `VACUUM INTO` reads one snapshot (committed writes only, a write in progress is not
//! waited for and not included) and writes a compact, standalone database file. Restore by
//! stopping ocd and putting the copy in place of `ocd.db` (removing `ocd.db-wal` and
//! `ocd.db-shm`). PostgreSQL is backed up with its own tools (`pg_dump`).

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sqlx::Connection;

use super::Backend;

pub async fn backup(database_url: &str, destination: &Path) -> Result<(), String> {
    if Backend::of_url(database_url) != Some(Backend::Sqlite) {
        return Err("ocd backup copies the SQLite database; back up PostgreSQL with pg_dump".into());
    }
    // The copy holds the same secrets' hashes as the database: owner-only, and never over an
    // existing file (VACUUM INTO needs a new or empty one).
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(destination)
        .map_err(|e| format!("cannot create {}: {e}", destination.display()))?;
    let result = copy(database_url, destination).await;
    if result.is_err() {
        let _ = std::fs::remove_file(destination);
    }
    result
}

async fn copy(database_url: &str, destination: &Path) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let url = if database_url.contains('?') { database_url.to_string() } else { format!("{database_url}?mode=ro") };
    let mut conn = sqlx::AnyConnection::connect(&url).await.map_err(|e| format!("cannot open the database: {e}"))?;
    let target = destination.to_str().ok_or("the backup path must be UTF-8")?;
    // A busy writer holds its lock only briefly; wait for it rather than fail.
    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut conn).await.map_err(|e| e.to_string())?;
    let done = sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await;
    let _ = conn.close().await;
    done.map(|_| ()).map_err(|e| format!("backup failed: {e}"))
}
