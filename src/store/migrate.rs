//! The database schema and its versions: what a new database gets, and how a database written by
//! an older xnas is brought up to date when it is opened, so that any run can be resumed by a
//! newer binary while a newer database is refused by an older one.

use rusqlite::{params, Connection, OptionalExtension};

use super::Fault;

/// The schema this code reads and writes; stored in `meta` so an old binary refuses a newer file.
pub const SCHEMA_VERSION: i64 = 2;

pub(super) const SCHEMA: &str = include_str!("schema.sql");

/// Creates every table of a new database at [`SCHEMA_VERSION`].
pub(super) fn create(conn: &Connection) -> Result<(), Fault> {
    conn.execute_batch(SCHEMA)?;
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?1)", params![SCHEMA_VERSION.to_string()])?;
    Ok(())
}

/// The schema version a database says it has (0 when it says none).
pub(super) fn version(conn: &Connection) -> Result<i64, Fault> {
    let version: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).optional()?;
    Ok(version.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Brings an opened database to [`SCHEMA_VERSION`]; `Err(found)` when it is of a version this code
/// cannot read.
pub(super) fn upgrade(conn: &Connection) -> Result<Result<(), i64>, Fault> {
    match version(conn)? {
        SCHEMA_VERSION => Ok(Ok(())),
        // Version 2 only adds tables (attempts, checkpoint): create them and move on.
        1 => {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(SCHEMA)?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'schema_version'", params![SCHEMA_VERSION.to_string()])?;
            tx.commit()?;
            Ok(Ok(()))
        }
        found => Ok(Err(found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_valid_sql() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        // Running it twice is harmless (IF NOT EXISTS everywhere).
        conn.execute_batch(SCHEMA).unwrap();
    }

    #[test]
    fn a_version_1_database_gains_the_new_tables_and_a_newer_one_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        create(&conn).unwrap();
        conn.execute_batch(
            "DROP TABLE attempts; DROP TABLE checkpoint; UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
        assert_eq!(upgrade(&conn).unwrap(), Ok(()));
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('attempts', 'checkpoint')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 2);
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'", []).unwrap();
        assert_eq!(upgrade(&conn).unwrap(), Err(3));
    }
}
