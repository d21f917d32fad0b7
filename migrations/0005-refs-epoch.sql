-- Bumped after every ref change hubd makes (API commits, branches, tags, pull requests, pushes),
-- so every process sharing the data dir sees that refs moved through the database version it
-- already checks per request, and may reuse what it read of the refs until then
-- (GitRepo.sharedRefs). Nothing reads the value itself.
ALTER TABLE repos ADD COLUMN refs_epoch INTEGER NOT NULL DEFAULT 0;
