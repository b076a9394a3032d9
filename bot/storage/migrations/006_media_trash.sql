-- Stored photos and voice notes whose rows are gone (a person asked to be forgotten): their files are deleted
-- after the transaction that let go of them has committed, so a rollback never leaves a row without its file.

CREATE TABLE media_trash (
    path     TEXT PRIMARY KEY,                  -- a file under the media directory
    added_at TEXT NOT NULL
);
