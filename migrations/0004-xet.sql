-- Issue 6: Xet storage. Xorbs and shards live in the blob store (namespaces `xorb/`, `shard/`);
-- this is the index from chunk hash / file hash / sha256 to what holds them. Hashes are stored in
-- their Xet string form (docs/xet-protocol.md §0.3), 64 lowercase hex.

-- Verified xorbs: only the chunk region is stored (footers stripped).
CREATE TABLE xet_xorbs (
  hash            TEXT PRIMARY KEY,
  num_chunks      INTEGER NOT NULL,
  packed_length   INTEGER NOT NULL,
  unpacked_length INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  -- Refreshed by every re-upload: GC must keep a xorb 3 weeks + 7 days past this (docs/xet-protocol.md §5.4).
  last_upload_at  TEXT NOT NULL
) WITHOUT ROWID;

-- The server's own chunk table of each xorb (computed while verifying, never taken from clients).
CREATE TABLE xet_chunks (
  xorb_hash       TEXT NOT NULL REFERENCES xet_xorbs(hash),
  idx             INTEGER NOT NULL,
  hash            TEXT NOT NULL,
  packed_start    INTEGER NOT NULL,
  packed_end      INTEGER NOT NULL,
  unpacked_start  INTEGER NOT NULL,
  unpacked_length INTEGER NOT NULL,
  PRIMARY KEY (xorb_hash, idx)
) WITHOUT ROWID;
CREATE INDEX xet_chunks_by_hash ON xet_chunks (hash);

-- Files registered by verified shards: their reconstruction terms.
CREATE TABLE xet_files (
  hash       TEXT PRIMARY KEY,
  size       INTEGER NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE xet_file_terms (
  file_hash       TEXT NOT NULL REFERENCES xet_files(hash),
  idx             INTEGER NOT NULL,
  xorb_hash       TEXT NOT NULL REFERENCES xet_xorbs(hash),
  chunk_start     INTEGER NOT NULL,
  chunk_end       INTEGER NOT NULL,                    -- exclusive
  unpacked_length INTEGER NOT NULL,
  PRIMARY KEY (file_hash, idx)
) WITHOUT ROWID;

-- Which repo registered which file (reconstruction visibility, docs/xet-protocol.md §5.3), with the sha256 the
-- shard claimed for it: a claim only, until a commit verifies it by reconstruction (docs/xet-protocol.md §1.5).
CREATE TABLE xet_repo_files (
  repo_id    TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  file_hash  TEXT NOT NULL REFERENCES xet_files(hash),
  sha256     TEXT,
  size       INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (repo_id, file_hash)
) WITHOUT ROWID;
CREATE INDEX xet_repo_files_by_sha256 ON xet_repo_files (repo_id, sha256);

-- Verified sha256 → Xet file: the LFS object `oid` (also in lfs_objects) is served by reconstruction.
CREATE TABLE xet_objects (
  oid         TEXT PRIMARY KEY,
  file_hash   TEXT NOT NULL REFERENCES xet_files(hash),
  size        INTEGER NOT NULL,
  verified_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX xet_objects_by_file ON xet_objects (file_hash);

-- Global dedup (docs/xet-protocol.md §5.4): eligible chunk → the xorbs of the shard that registered it. Accumulates.
CREATE TABLE xet_dedup (
  chunk_hash TEXT NOT NULL,
  xorb_hash  TEXT NOT NULL REFERENCES xet_xorbs(hash),
  PRIMARY KEY (chunk_hash, xorb_hash)
) WITHOUT ROWID;

-- Shards already registered (idempotency: `result` 0 on a byte-identical repeat), per repo.
CREATE TABLE xet_shards (
  hash       TEXT NOT NULL,                              -- sha256 of the shard body
  repo_id    TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  PRIMARY KEY (hash, repo_id)
) WITHOUT ROWID;
