-- The transactional inbox: every update a channel acknowledged, stored before the acknowledgement and handled
-- from here (in id order per person); done rows stay for a few days as the channel events' de-duplication.
-- Replies to the person are outbox rows written with the step (claimed at once for an immediate send); a reply
-- that edits the pressed message names that message in replace_ref.

DROP TABLE inbound_seen;  -- the inbox's unique event ids de-duplicate channel events now

CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    user_id     TEXT NOT NULL,                 -- the person's key on the channel
    payload     TEXT NOT NULL,                 -- JSON: the neutral Inbound (media_ref: the platform's file id) and the channel's extras
    received_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done'))
);
CREATE INDEX inbox_pending ON inbox (channel, user_id, id) WHERE status = 'pending';
CREATE INDEX inbox_done ON inbox (received_at) WHERE status = 'done';

ALTER TABLE outbox ADD COLUMN replace_ref TEXT NOT NULL DEFAULT '';
