-- Broadcasts (群发): one row per broadcast; its messages are outbox rows carrying its id, so progress is a count of
-- those rows by status (no counters of its own to drift). Outbox rows may also share a "slot" per chat: a later
-- row of the same slot replaces the message an earlier one left (its platform reference is kept in message_ref).

CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY,
    created_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    channel     TEXT NOT NULL,                  -- where its author asked for it: status and report go there
    chat_id     TEXT NOT NULL,
    unit_id     INTEGER NOT NULL REFERENCES grid_units (id),  -- the scope: this unit and everything below it
    audience    TEXT NOT NULL CHECK (audience IN ('residents', 'members', 'all')),
    text        TEXT NOT NULL,
    photo       TEXT NOT NULL DEFAULT '',       -- local path of the stored photo, if any
    total       INTEGER NOT NULL,               -- outbox rows written (one per reachable account)
    created_at  TEXT NOT NULL,
    finished_at TEXT                            -- set when the delivery report was queued
);
CREATE INDEX broadcasts_open ON broadcasts (finished_at);

ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts (id);
ALTER TABLE outbox ADD COLUMN slot TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN message_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
CREATE INDEX outbox_slot ON outbox (channel, chat_id, slot, id) WHERE slot != '';
-- The delivery worker's queue: due rows in the order they go (a broadcast's after the rest), and each chat's
-- unsettled rows, so that finding what may go next does not read the whole queue (10,000 rows for a broadcast).
CREATE INDEX outbox_queue ON outbox (status, broadcast_id IS NOT NULL, not_before, id);
CREATE INDEX outbox_open ON outbox (channel, chat_id, id) WHERE status IN ('pending', 'in_flight');

-- Residents of a scope are found by their home building.
CREATE INDEX people_building ON people (building_id);
