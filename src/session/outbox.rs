//! The local queue of a shared store: writes made while the database cannot be reached, kept
//! in order in a SQLite file on local disk (`<book>/.opsbook/outbox.db`, `synchronous = FULL`)
//! until they are written to the database. Each write carries the ids that make writing it
//! twice harmless.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// The queue: an autoincrement key gives the order.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    /// Behind a lock so the writer task can hold the queue across awaits.
    conn: Mutex<Connection>,
}

impl Outbox {
    pub fn open(path: &Path) -> Result<Outbox, StoreError> {
        let fail = |message: String| StoreError::Backend { location: path.display().to_string(), message };
        // Private before SQLite opens it: a new file 0600 (SQLite gives its `-wal` and `-shm`
        // the same mode), in a 0700 folder; in `.opsbook/`, looser existing files are tightened.
        crate::private::prepare_database(path).map_err(|e| fail(format!("cannot create it privately: {e}")))?;
        let conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| fail(e.to_string()))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS outbox (n INTEGER PRIMARY KEY AUTOINCREMENT, store TEXT NOT NULL, item TEXT NOT NULL);",
        )
        .map_err(|e| fail(e.to_string()))?;
        Ok(Outbox { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn err(&self, err: impl std::fmt::Display) -> StoreError {
        StoreError::Backend { location: self.path.display().to_string(), message: err.to_string() }
    }

    /// Queues one write for `store` (the database it is for); committed when this returns.
    pub fn push(&self, store: &str, item: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("INSERT INTO outbox (store, item) VALUES (?1, ?2)", params![store, item])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The oldest write queued for `store`.
    pub fn first(&self, store: &str) -> Result<Option<(i64, String)>, StoreError> {
        self.conn()
            .query_row("SELECT n, item FROM outbox WHERE store = ?1 ORDER BY n LIMIT 1", [store], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn remove(&self, n: i64) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM outbox WHERE n = ?1", [n]).map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn len(&self, store: &str) -> Result<usize, StoreError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM outbox WHERE store = ?1", [store], |row| row.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }
}
