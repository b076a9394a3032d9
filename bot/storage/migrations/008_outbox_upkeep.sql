-- The delivery worker reads each channel's due rows on their own (a page of Telegram rows that cannot go yet must
-- not hide WeCom's), so its queue index leads with the channel.
DROP INDEX outbox_queue;
CREATE INDEX outbox_channel_queue ON outbox (channel, status, broadcast_id IS NOT NULL, not_before, id);
