-- Signals seen by the service and definitions reported by `translate --watch` (issue 25,
-- decision 0038). Portable SQL, as 0001.

-- Every item posted to POST /v1/signals, accepted or refused, and where it went. The
-- service keeps the newest 100,000.
CREATE TABLE signal_intake (
    seq            BIGINT PRIMARY KEY,
    received_ns    BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    signal_id      TEXT,
    signal_type    TEXT,
    instrument_id  TEXT,
    source_model   TEXT,
    outcome        TEXT NOT NULL,       -- accepted | refused
    reason         TEXT,                -- why validation refused it
    handed_to      TEXT NOT NULL,       -- JSON array of deployment ids
    skipped        TEXT NOT NULL        -- JSON array of {deployment, reason}
);

-- Signals a deployment should have received and did not; never deleted by the service.
CREATE TABLE signal_dead_letters (
    seq         BIGINT PRIMARY KEY,
    ts_ns       BIGINT NOT NULL,
    deployment  TEXT NOT NULL,
    plugin      TEXT NOT NULL,
    signal_id   TEXT NOT NULL,
    stage       TEXT NOT NULL,          -- delivery | breaker | handoff
    reason      TEXT NOT NULL
);
CREATE INDEX signal_dead_letters_deployment ON signal_dead_letters (deployment);

-- The newest translation outcome of each definition (by origin), as reported.
CREATE TABLE translations (
    origin             TEXT PRIMARY KEY,  -- file path or URL of the definition
    definition_id      TEXT NOT NULL,
    status             TEXT NOT NULL,     -- translated | failed
    definition_sha256  TEXT,
    version            TEXT,
    plugin             TEXT,
    component_sha256   TEXT,
    error              TEXT,
    updated_ns         BIGINT NOT NULL,
    reported_by        TEXT NOT NULL
);
