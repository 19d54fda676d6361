-- The persisted signal buffer (see host/src/signals/store.rs and docs/decisions/0012-signals.md).

-- Every accepted signal, once. `seq` is the acknowledgement order: a signal is acknowledged
-- when the transaction that inserted it commits, and live delivery and `signals replay`
-- both go by `seq`.
CREATE TABLE signals (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    signal_id      TEXT    NOT NULL UNIQUE,
    ts             INTEGER NOT NULL,
    signal_type    TEXT    NOT NULL,
    instrument_id  TEXT    NOT NULL,
    source_model   TEXT    NOT NULL,
    -- The validated signal as canonical JSON (schema field order, sorted maps).
    body           TEXT    NOT NULL,
    -- Where it came from: `file.jsonl:12`, `http`, ...
    source         TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    received_ns    INTEGER NOT NULL
) STRICT;

CREATE INDEX signals_by_ts ON signals (ts, seq);

-- What was refused, or could not be delivered, and why. Nothing is dropped silently.
CREATE TABLE dead_letters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- validation | duplicate | delivery
    stage          TEXT    NOT NULL,
    signal_id      TEXT,
    -- The consumer (plugin) a delivery failed for; NULL before routing.
    consumer       TEXT,
    reason         TEXT    NOT NULL,
    -- The input as received (at most 64 KiB) or, for deliveries, the stored body.
    input          TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    recorded_ns    INTEGER NOT NULL
) STRICT;

CREATE INDEX dead_letters_by_stage ON dead_letters (stage, id);

-- How far each live consumer has been delivered (the `seq` of its last signal).
CREATE TABLE consumer_cursors (
    consumer TEXT    PRIMARY KEY,
    seq      INTEGER NOT NULL
) STRICT;
