-- Issue 5: organizations and their members. Users and orgs share the `users` table (one namespace,
-- unique case-insensitively); a member's role in an org decides what their write tokens may do there.

CREATE TABLE org_members (
  org_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;
CREATE INDEX org_members_user ON org_members(user_id);

CREATE INDEX tokens_user ON tokens(user_id);
