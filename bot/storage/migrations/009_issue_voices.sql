-- Voice notes a resident adds to a report after filing it (what is still wrong when it was not fixed). Their
-- files go with the person when they ask to be forgotten, as photos do.

CREATE TABLE issue_voices (
    id         INTEGER PRIMARY KEY,
    issue_id   INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    path       TEXT NOT NULL,                     -- local file under the media directory
    added_by   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX issue_voices_issue ON issue_voices (issue_id);
CREATE INDEX issue_voices_added_by ON issue_voices (added_by);
