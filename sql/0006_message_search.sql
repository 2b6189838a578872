-- The staff's message search (the console's /console/messages): across
-- accounts, newest first, keyset pages over (accepted_at, message_id) like the
-- per-account lists. A search naming an account reads that account's indexes
-- (0004); one naming a message id, the primary key; these two serve the rest:
-- every accepted message by time, and a recipient's messages by time.
--
-- Partial on `accepted_at IS NOT NULL`, the condition every search has: a
-- message whose acceptance is not known yet is in no list.

CREATE INDEX messages_accepted
    ON messages (accepted_at DESC, message_id DESC)
    WHERE accepted_at IS NOT NULL;
CREATE INDEX messages_destination
    ON messages (destination, accepted_at DESC, message_id DESC)
    WHERE accepted_at IS NOT NULL;
