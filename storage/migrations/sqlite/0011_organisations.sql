-- Organisations: a company's profile (what the privacy policy lists for
-- Enterprise customers), its members with a role each, and invitations
-- (the token only as its sha256). A printer belongs to a user or, once
-- owner_org_id is set, to an organisation (then owner_user_id is NULL).
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',          -- ISO 3166-1 alpha-2, '' when not given
    timezone TEXT NOT NULL DEFAULT 'UTC',      -- an IANA zone name
    address TEXT NOT NULL DEFAULT '',
    billing_address TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    attention TEXT NOT NULL DEFAULT '',        -- full name of the attention person
    vat_number TEXT NOT NULL DEFAULT '',
    ean_number TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);

CREATE TABLE org_members (
    org_id INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    joined_at REAL NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members(user_id);

CREATE TABLE org_invitations (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER REFERENCES users(id),
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    accepted_at REAL,
    accepted_by INTEGER REFERENCES users(id)
);
CREATE INDEX org_invitations_org ON org_invitations(org_id, created_at);

ALTER TABLE devices ADD COLUMN owner_org_id INTEGER REFERENCES organisations(id);
CREATE INDEX devices_owner_org ON devices(owner_org_id);
