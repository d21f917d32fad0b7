-- hubd schema, version 1. Forward-only: later changes go into 0002-*.sql and onwards.

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE users (
  id         TEXT PRIMARY KEY,                 -- 24 hex, Hub style
  name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
  fullname   TEXT NOT NULL DEFAULT '',
  type       TEXT NOT NULL DEFAULT 'user' CHECK (type IN ('user', 'org')),
  is_admin   INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('read', 'write')),
  hash         TEXT NOT NULL UNIQUE,             -- sha256 of the token; the token itself is never stored
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  expires_at   TEXT,
  revoked_at   TEXT
);

CREATE TABLE repos (
  id             TEXT PRIMARY KEY,               -- 24 hex; also names the bare repo directory
  type           TEXT NOT NULL CHECK (type IN ('model', 'dataset', 'space')),
  namespace      TEXT NOT NULL COLLATE NOCASE,
  name           TEXT NOT NULL COLLATE NOCASE,
  private        INTEGER NOT NULL DEFAULT 0,
  origin         TEXT NOT NULL DEFAULT 'hosted' CHECK (origin IN ('hosted', 'mirror')),
  default_branch TEXT NOT NULL DEFAULT 'main',
  sdk            TEXT,
  created_at     TEXT NOT NULL,
  last_modified  TEXT NOT NULL,
  UNIQUE (type, namespace, name)
);

-- Content-addressed LFS objects present in the blob store.
CREATE TABLE lfs_objects (
  oid        TEXT PRIMARY KEY,                   -- sha256, 64 lowercase hex
  size       INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

-- Which repo may reference which object (docs/hub-api.md §5.10): a repo sees an oid only through its own row.
CREATE TABLE repo_objects (
  repo_id    TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  oid        TEXT NOT NULL REFERENCES lfs_objects(oid),
  created_at TEXT NOT NULL,
  PRIMARY KEY (repo_id, oid)
) WITHOUT ROWID;
CREATE INDEX repo_objects_oid ON repo_objects(oid);

-- Immutable facts about git blobs, keyed by blob id: real size, and the LFS object a pointer names.
CREATE TABLE git_blobs (
  oid      TEXT PRIMARY KEY,                     -- git blob id, 40 hex
  size     INTEGER NOT NULL,                     -- blob size (for a pointer: the pointer's size)
  lfs_oid  TEXT,
  lfs_size INTEGER
) WITHOUT ROWID;

-- HF multipart uploads in progress (their staging files live under <data>/uploads).
CREATE TABLE multipart_uploads (
  id         TEXT PRIMARY KEY,
  repo_id    TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  oid        TEXT NOT NULL,
  size       INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE multipart_parts (
  upload_id TEXT NOT NULL REFERENCES multipart_uploads(id) ON DELETE CASCADE,
  part      INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  etag      TEXT NOT NULL,
  PRIMARY KEY (upload_id, part)
) WITHOUT ROWID;
