-- A receipt per erased account, so `printfleet privacy verify-erasure` can
-- still be asked about it: never the email, only its sha256 (lower-cased);
-- the user's other identifiers (names, printers' device ids, sessions' IPs)
-- only as HMACs keyed by a key derived from the email and `salt`, so they
-- can be checked by someone who knows the email and read by nobody.
-- pseudonym: what organisation-owned records now name instead of the user;
-- pseudonym_user_id: the users row carrying it (no email, name or password).
CREATE TABLE erasure_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    erased_user_id INTEGER NOT NULL,
    email_sha256 TEXT NOT NULL,
    pseudonym TEXT NOT NULL UNIQUE,
    pseudonym_user_id INTEGER,
    salt TEXT NOT NULL,
    identifier_hmacs TEXT NOT NULL,    -- JSON: kind -> list of hex HMACs
    erased_at REAL NOT NULL
);
CREATE INDEX erasure_receipts_email ON erasure_receipts(email_sha256);
CREATE INDEX erasure_receipts_user ON erasure_receipts(erased_user_id);
