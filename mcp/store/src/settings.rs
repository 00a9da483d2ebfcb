//! The settings every connection of the store gets, in one place: the writer's, every
//! `Store`'s, and `bench bus`'s raw-SQLite floor, which must run with the same ones.

use rusqlite::Connection;

/// Prepared statements kept per connection (the writer's and every `Store`'s): more than
/// the store has call sites.
pub(crate) const STATEMENT_CACHE: usize = 128;

/// What every connection of the store is set to beyond WAL, which is the file's.
/// - `synchronous = NORMAL`, foreign keys on, [`STATEMENT_CACHE`] statements cached.
/// - `temp_store = MEMORY`: the savepoint each write of a group runs in journals the pages
///   it changes; past 64 KiB SQLite spilled that journal to a temporary file, which it
///   made and deleted again for every group.
/// - The query planner stability guarantee: a statement whose plan could depend on a bound
///   value (a `LIMIT ?`, a parameter beside a partial index) was otherwise prepared anew on
///   every call; `bench bus` spent 6% of its time parsing the inbox pull again. No query
///   of the store depends on such a plan (no statistics are gathered; the inbox queries
///   name their index).
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An inbox-like query with a `LIMIT ?` is prepared once on a configured connection,
    /// however its parameters change; on a plain one SQLite prepares it again per call.
    #[test]
    fn configured_connections_keep_their_plans() {
        use rusqlite::StatementStatus::RePrepare;
        let reprepares = |configured: bool| {
            let conn = Connection::open_in_memory().unwrap();
            if configured {
                configure(&conn).unwrap();
            }
            conn.execute_batch(
                "CREATE TABLE d (r TEXT, s INTEGER, a INTEGER, PRIMARY KEY (r, s)) WITHOUT ROWID;
                 CREATE INDEX d_open ON d (r, s) WHERE a IS NULL;",
            )
            .unwrap();
            let sql = "SELECT s FROM d INDEXED BY d_open WHERE r = ?1 AND a IS NULL
                       ORDER BY s LIMIT ?2";
            for limit in 1..4 {
                let mut stmt = conn.prepare_cached(sql).unwrap();
                let _: Vec<i64> = stmt
                    .query_map(rusqlite::params!["x", limit], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
            }
            conn.prepare_cached(sql).unwrap().get_status(RePrepare)
        };
        assert!(
            reprepares(false) > 0,
            "the plain connection should reprepare"
        );
        assert_eq!(reprepares(true), 0);
    }
}
