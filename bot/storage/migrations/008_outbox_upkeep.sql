-- Outbox upkeep. The delivery worker reads each channel's due rows on their own (a page of Telegram rows that
-- cannot go yet must not hide WeCom's), so its queue index leads with the channel.
DROP INDEX outbox_queue;
CREATE INDEX outbox_channel_queue ON outbox (channel, status, broadcast_id IS NOT NULL, not_before, id);

-- Sent rows are pruned after a retention period, oldest first.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE status = 'sent';

-- Who a meeting was announced to, kept apart from the outbox rows (which are pruned): a cancellation tells them.
CREATE TABLE meeting_audience (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (meeting_id, person_id)
) WITHOUT ROWID;

-- Announcements queued so far, from their outbox keys: meeting:<id>:announce:<channel>:<user id>.
WITH announced AS (
    SELECT substr(idempotency_key, 9, instr(idempotency_key, ':announce:') - 9) AS meeting,
           substr(idempotency_key, instr(idempotency_key, ':announce:') + 10) AS account
    FROM outbox WHERE idempotency_key LIKE 'meeting:%:announce:%'
)
INSERT OR IGNORE INTO meeting_audience (meeting_id, person_id)
SELECT m.id, ca.person_id
FROM announced a
JOIN meetings m ON m.id = CAST(a.meeting AS INTEGER) AND CAST(m.id AS TEXT) = a.meeting
JOIN channel_accounts ca ON ca.channel = substr(a.account, 1, instr(a.account, ':') - 1)
                        AND ca.user_id = substr(a.account, instr(a.account, ':') + 1);
