-- One chain, any number of writers (docs/decisions/0025-audit-trail.md): every append first
-- updates this row (a row lock in PostgreSQL, the database's write lock in SQLite) and
-- only then reads the chain's head from `audit`, inside the insert's transaction.
CREATE TABLE audit_lock (
    id      INTEGER PRIMARY KEY,
    appends BIGINT NOT NULL
);
INSERT INTO audit_lock (id, appends) VALUES (1, 0);

-- Signed heads: the host's Ed25519 signature over (seq, hash, ts_ns), every 64 records
-- and at shutdown, so a trail cut short or re-chained without the key fails verify.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    hash       TEXT NOT NULL,
    ts_ns      BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    signature  TEXT NOT NULL
);
