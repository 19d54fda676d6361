-- Grants are bound to one uploaded component (its sha256 digest), no longer to a manifest
-- name: a new upload under the same name needs its own approved grant.
-- See docs/decisions/0022-grants-bound-to-digest.md. Portable SQL (SQLite and PostgreSQL).

ALTER TABLE grants ADD COLUMN digest TEXT;    -- sha256 of the component the grant is for

-- Grants made before this migration named a plugin only. Each is bound to the component that
-- was the latest upload of that name when the migration ran (ties: the larger digest); a
-- grant whose name has no upload stays unbound (NULL) and is usable by no deployment.
UPDATE grants SET digest = (
    SELECT p.digest FROM plugins p
    WHERE p.name = grants.plugin
    ORDER BY p.uploaded_ns DESC, p.digest DESC
    LIMIT 1
);

CREATE INDEX grants_digest ON grants (digest, status);
