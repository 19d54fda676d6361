-- The host service's tables. Portable SQL: the same file runs on SQLite and PostgreSQL
-- (TEXT, BIGINT; ids and sequence numbers are assigned by the service, not the database).

CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,      -- sha256 of the token; the token itself is never stored
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_ns  BIGINT NOT NULL,
    revoked_ns  BIGINT
);

CREATE TABLE plugins (
    digest      TEXT PRIMARY KEY,      -- sha256 of the component bytes
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    size        BIGINT NOT NULL,
    inspection  TEXT NOT NULL,         -- JSON: imports, exports, requested capabilities, limits
    uploaded_by TEXT NOT NULL,
    uploaded_ns BIGINT NOT NULL
);
CREATE UNIQUE INDEX plugins_name_version ON plugins (name, version);

CREATE TABLE grants (
    id            TEXT PRIMARY KEY,
    plugin        TEXT NOT NULL,       -- manifest name the grant is for
    spec          TEXT NOT NULL,       -- JSON grant
    status        TEXT NOT NULL,       -- pending | approved | rejected
    reason        TEXT NOT NULL,
    diff          TEXT NOT NULL,       -- JSON: against the plugin's previous approved grant
    requested_by  TEXT NOT NULL,
    requested_ns  BIGINT NOT NULL,
    decided_by    TEXT,
    decided_ns    BIGINT,
    decision_note TEXT
);
CREATE INDEX grants_plugin ON grants (plugin, status);

CREATE TABLE deployments (
    id          TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,         -- JSON deployment request
    digest      TEXT NOT NULL,         -- the running version
    grant_id    TEXT NOT NULL,
    status      TEXT NOT NULL,         -- running | finished | stopped | failed
    created_by  TEXT NOT NULL,
    created_ns  BIGINT NOT NULL,
    updated_ns  BIGINT NOT NULL,
    outcome     TEXT                   -- JSON: how the session ended
);

CREATE TABLE audit (
    seq        BIGINT PRIMARY KEY,
    ts_ns      BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    details    TEXT NOT NULL,          -- JSON
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
