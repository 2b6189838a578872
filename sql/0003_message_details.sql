-- What a message is, next to what happened to it: its recipient, sender, the
-- client's reference and the price per part, from its ACCEPTED event; and the
-- indexes of the per-account message lists (newest first, keyset pagination
-- over (accepted_at, message_id)).
--
-- Adding nullable columns without a default changes only the catalog; the
-- index builds lock writes to `messages` while they run.

ALTER TABLE message_events
    ADD COLUMN destination    text,
    ADD COLUMN source         text,
    ADD COLUMN reference      text,
    ADD COLUMN price_per_part bigint;

ALTER TABLE messages
    ADD COLUMN destination    text,
    ADD COLUMN source         text,
    ADD COLUMN reference      text,
    ADD COLUMN price_per_part bigint;

-- Every list query filters one account and reads in (accepted_at, message_id)
-- order, so each index ends with those two columns and serves the order too.
DROP INDEX messages_account_accepted;
CREATE INDEX messages_account_accepted
    ON messages (account, accepted_at DESC, message_id DESC);
CREATE INDEX messages_account_destination
    ON messages (account, destination, accepted_at DESC, message_id DESC);
CREATE INDEX messages_account_reference
    ON messages (account, reference, accepted_at DESC, message_id DESC)
    WHERE reference IS NOT NULL;
