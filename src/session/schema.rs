//! The session schema, one list of versioned migrations for SQLite and PostgreSQL alike: the
//! SQL is kept to what both read the same way (`TEXT`, `BIGINT`, partial indexes).

/// Schema versions, in order. A store records how many it has applied (SQLite:
/// `PRAGMA user_version`; PostgreSQL: the `opsbook_schema` table).
pub const MIGRATIONS: &[&str] = &[
    r"
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        ended_at BIGINT
    );
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        seq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        host TEXT NOT NULL,
        source TEXT NOT NULL,
        run_id TEXT,
        data TEXT NOT NULL,
        UNIQUE (session_id, seq)
    );
    CREATE INDEX events_run ON events (run_id) WHERE run_id IS NOT NULL;
    CREATE TABLE session_vars (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (session_id, name)
    );
    ",
    // Version 2: shared sessions. Output chunks (a shared store keeps runs' output for other
    // machines; SQLite keeps it in each run's log file and leaves this table empty), who has a
    // console open on a session, and when each recording process was last heard from.
    r"
    CREATE TABLE chunks (
        run_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        at BIGINT NOT NULL,
        stream TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE presence (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        actor TEXT NOT NULL,
        host TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (session_id, actor, host)
    );
    CREATE TABLE recorders (
        host TEXT NOT NULL,
        pid BIGINT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (host, pid)
    );
    ",
];

/// The SQL of an event row, in the order `event_from_row` reads.
pub const EVENT_COLUMNS: &str = "id, session_id, seq, at, actor, host, source, data";
pub const SESSION_COLUMNS: &str = "id, title, severity, status, started_at, ended_at";
