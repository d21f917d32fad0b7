-- Issue 3: repo facts for info and listings, kept current on every change of the default branch,
-- pull requests (discussions), and the redirects left behind by moves.

ALTER TABLE repos ADD COLUMN sha TEXT;                         -- head of the default branch when last indexed
ALTER TABLE repos ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN likes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN gated TEXT CHECK (gated IN ('auto', 'manual'));
ALTER TABLE repos ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN card_data TEXT;                   -- JSON of the README front matter
ALTER TABLE repos ADD COLUMN pipeline_tag TEXT;
ALTER TABLE repos ADD COLUMN library_name TEXT;
ALTER TABLE repos ADD COLUMN used_storage INTEGER NOT NULL DEFAULT 0;
-- Lower-cased "namespace/name", for case-insensitive substring search.
ALTER TABLE repos ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
UPDATE repos SET search_key = lower(namespace || '/' || name);

CREATE INDEX repos_by_last_modified ON repos (type, last_modified);
CREATE INDEX repos_by_created_at ON repos (type, created_at);
CREATE INDEX repos_by_downloads ON repos (type, downloads);
CREATE INDEX repos_by_likes ON repos (type, likes);
CREATE INDEX repos_by_id ON repos (type, search_key);
CREATE INDEX repos_by_author ON repos (type, namespace);

CREATE TABLE repo_tags (
  repo_id TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  tag     TEXT NOT NULL,
  PRIMARY KEY (repo_id, tag)
) WITHOUT ROWID;
CREATE INDEX repo_tags_by_tag ON repo_tags (tag, repo_id);

-- Discussions and pull requests; numbers are per repo and shared by both kinds (refs/pr/N).
CREATE TABLE discussions (
  repo_id       TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  num           INTEGER NOT NULL,
  title         TEXT NOT NULL,
  is_pr         INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'merged')),
  author        TEXT NOT NULL,
  target_branch TEXT,                                          -- refs/heads/x for pull requests
  merge_commit  TEXT,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (repo_id, num)
) WITHOUT ROWID;

CREATE TABLE discussion_events (
  id         TEXT PRIMARY KEY,
  repo_id    TEXT NOT NULL,
  num        INTEGER NOT NULL,
  type       TEXT NOT NULL,                                    -- comment, status-change, commit, title-change
  author     TEXT NOT NULL,
  data       TEXT NOT NULL,                                    -- JSON, the Hub's event `data`
  created_at TEXT NOT NULL,
  FOREIGN KEY (repo_id, num) REFERENCES discussions(repo_id, num) ON DELETE CASCADE
);
CREATE INDEX discussion_events_by_discussion ON discussion_events (repo_id, num, created_at);

-- Old ids of moved repos, answered with redirects (docs/hub-api.md §7.5).
CREATE TABLE repo_redirects (
  type      TEXT NOT NULL,
  namespace TEXT NOT NULL COLLATE NOCASE,
  name      TEXT NOT NULL COLLATE NOCASE,
  repo_id   TEXT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  PRIMARY KEY (type, namespace, name)
) WITHOUT ROWID;
