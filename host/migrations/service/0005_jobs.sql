-- Backtest and sweep jobs (docs/decisions/0036-server-jobs.md). Portable SQL, as 0001.
-- A job's files (report.json, report.html, result.json) are in <state_dir>/jobs/<id>/.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,      -- bt-<12 hex> or sw-<12 hex>
    kind        TEXT NOT NULL,         -- backtest | sweep
    status      TEXT NOT NULL,         -- queued | running | finished | failed | cancelled | interrupted
    request     TEXT NOT NULL,         -- JSON: the request as posted
    created_by  TEXT NOT NULL,
    created_ns  BIGINT NOT NULL,
    started_ns  BIGINT,
    ended_ns    BIGINT,
    done        BIGINT NOT NULL,       -- events (backtest) or grid points (sweep) done
    total       BIGINT NOT NULL,
    error       TEXT,
    summary     TEXT                   -- JSON: headline figures, once finished
);
CREATE INDEX jobs_kind_created ON jobs (kind, created_ns);
CREATE INDEX jobs_status ON jobs (status);
