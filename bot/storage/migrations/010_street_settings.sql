-- The street's own settings, changed by an administrator in the chat; a row overrides the configured default.

CREATE TABLE street_settings (
    key   TEXT PRIMARY KEY,                       -- quiet_hours
    value TEXT NOT NULL                           -- quiet_hours: HH:MM-HH:MM or off
);
