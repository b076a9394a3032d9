-- 亮身份: party members' cards, the households each party household (党员中心户) looks after, and the messages
-- residents and their party contact pass through the bot.
--
-- A household is (building, room). Its contact is, by default, the party-household unit in its building whose
-- grid row lists the room (linked_households); an assignment made in the chat (a complex secretary or an admin)
-- overrides that. Assignments keep their history: one active row per household (ended_at NULL).

CREATE TABLE member_cards (
    person_id    INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',    -- the name the member chooses to be known by ('' : their own)
    promise      TEXT NOT NULL DEFAULT '',    -- a short promise they write (at most 100 characters)
    updated_at   TEXT NOT NULL
);

CREATE TABLE household_contacts (
    id          INTEGER PRIMARY KEY,
    building_id INTEGER NOT NULL REFERENCES grid_units (id),
    room        TEXT NOT NULL,
    unit_id     INTEGER NOT NULL REFERENCES grid_units (id),  -- the party-household unit that looks after it
    assigned_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT                                           -- NULL: the household's active assignment
);
CREATE UNIQUE INDEX household_contacts_active ON household_contacts (building_id, room) WHERE ended_at IS NULL;
CREATE INDEX household_contacts_unit ON household_contacts (unit_id) WHERE ended_at IS NULL;

CREATE TABLE contact_messages (
    id           INTEGER PRIMARY KEY,
    building_id  INTEGER NOT NULL REFERENCES grid_units (id),  -- the household the conversation is about
    room         TEXT NOT NULL,
    sender_id    INTEGER REFERENCES people (id) ON DELETE CASCADE,  -- a forgotten sender's words go too
    recipient_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    text         TEXT NOT NULL DEFAULT '',
    voice_ref    TEXT NOT NULL DEFAULT '',                     -- a voice note instead of words
    created_at   TEXT NOT NULL
);
CREATE INDEX contact_messages_recipient ON contact_messages (recipient_id, id);
