-- Console sessions (issue 25, decision 0036): a signed-in browser holds a random session id
-- in an HttpOnly, SameSite=Strict cookie; only its sha256 is stored. A session lives as long
-- as the token it was opened with (revoking the token ends it), until it expires, or until
-- its owner signs out. `csrf` is the anti-forgery value every change must echo in the
-- `X-CSRF-Token` header.
CREATE TABLE console_sessions (
    hash        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_ns  BIGINT NOT NULL,
    expires_ns  BIGINT NOT NULL,
    ended_ns    BIGINT
);
CREATE INDEX console_sessions_token ON console_sessions (token_hash);
