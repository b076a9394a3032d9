-- 道德模范评选 (moral-model campaigns): a campaign for the street or one community goes through nominations, the
-- reviewer's check, 公示 with objections, a vote and the 表彰. Its phase changes are rows of scheduled_jobs
-- (subject 'moral_campaign'); the trigger at the end deletes them with the campaign.

CREATE TABLE moral_campaigns (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    unit_id         INTEGER NOT NULL REFERENCES grid_units (id),  -- the street or a community
    phase           TEXT NOT NULL DEFAULT 'nominating'
                    CHECK (phase IN ('nominating', 'reviewing', 'publicizing', 'voting', 'closed', 'honoured')),
    opened_at       TEXT NOT NULL,                 -- votes by people registered after this are "new accounts"
    nominate_until  TEXT NOT NULL,
    review_until    TEXT NOT NULL,
    publicize_until TEXT NOT NULL,
    vote_until      TEXT NOT NULL,
    creator_id      INTEGER REFERENCES people (id) ON DELETE SET NULL,
    honoured_at     TEXT
);

CREATE TABLE moral_nominations (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES moral_campaigns (id) ON DELETE CASCADE,
    category     TEXT NOT NULL
                 CHECK (category IN ('in_laws', 'housekeeper', 'family', 'neighbour', 'volunteer')),
    nominator_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    nominee_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    story        TEXT NOT NULL,
    photo_ref    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'awaiting_consent'
                 CHECK (status IN ('awaiting_consent', 'declined', 'consented', 'approved', 'rejected',
                                   'withdrawn', 'removed')),
    reason       TEXT NOT NULL DEFAULT '',         -- the reviewer's, when rejected or removed
    honoured     INTEGER NOT NULL DEFAULT 0,       -- on the 表彰 list
    created_at   TEXT NOT NULL,
    UNIQUE (campaign_id, category, nominee_id)     -- one nomination of a person per category
);
CREATE INDEX moral_nominations_nominee ON moral_nominations (nominee_id);

-- One ballot per resident per category (the primary key); the count stays out of every view until the close.
CREATE TABLE moral_votes (
    campaign_id   INTEGER NOT NULL REFERENCES moral_campaigns (id) ON DELETE CASCADE,
    category      TEXT NOT NULL,
    voter_id      INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    nomination_id INTEGER NOT NULL REFERENCES moral_nominations (id) ON DELETE CASCADE,
    new_account   INTEGER NOT NULL,                -- the voter registered after the campaign opened
    cast_at       TEXT NOT NULL,
    PRIMARY KEY (campaign_id, category, voter_id)
);
CREATE INDEX moral_votes_nomination ON moral_votes (nomination_id, new_account, cast_at);

CREATE TABLE moral_objections (
    id            INTEGER PRIMARY KEY,
    nomination_id INTEGER NOT NULL REFERENCES moral_nominations (id) ON DELETE CASCADE,
    person_id     INTEGER REFERENCES people (id) ON DELETE SET NULL,
    text          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX moral_objections_nomination ON moral_objections (nomination_id);

-- A burst of new accounts' votes for one nomination, flagged to the reviewer once.
CREATE TABLE moral_flags (
    nomination_id INTEGER PRIMARY KEY REFERENCES moral_nominations (id) ON DELETE CASCADE,
    votes         INTEGER NOT NULL,
    flagged_at    TEXT NOT NULL
);

-- The audit trail of a nomination: consent, review, removal, 表彰.
CREATE TABLE moral_events (
    id            INTEGER PRIMARY KEY,
    nomination_id INTEGER NOT NULL REFERENCES moral_nominations (id) ON DELETE CASCADE,
    actor_id      INTEGER REFERENCES people (id) ON DELETE SET NULL,
    kind          TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL
);
CREATE INDEX moral_events_nomination ON moral_events (nomination_id, id);

CREATE TRIGGER scheduled_jobs_moral_campaign_deleted AFTER DELETE ON moral_campaigns BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'moral_campaign' AND subject_id = OLD.id;
END;
