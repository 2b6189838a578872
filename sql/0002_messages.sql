-- Messages and their state history.
--
-- `messages` holds the latest state of each message (updated in place, looked
-- up by id, so not partitioned); `message_events` is the append-only history,
-- partitioned by month like ledger_entries.

CREATE TABLE messages (
    message_id          text PRIMARY KEY,
    account             text NOT NULL,
    state               text NOT NULL,
    parts               smallint NOT NULL,
    held                bigint,
    charged             bigint,
    connector           text,
    operator_message_id text,
    error_code          integer,
    accepted_at         timestamptz,
    updated_at          timestamptz NOT NULL,
    -- Position of the event that set `state`: an older event never overwrites it.
    bucket              smallint NOT NULL,
    stream_ms           bigint NOT NULL,
    stream_seq          bigint NOT NULL
);

CREATE INDEX messages_account_accepted ON messages (account, accepted_at);
CREATE INDEX messages_operator_id ON messages (operator_message_id)
    WHERE operator_message_id IS NOT NULL;

CREATE TABLE message_events (
    at                  timestamptz NOT NULL,
    bucket              smallint NOT NULL,
    stream_ms           bigint NOT NULL,
    stream_seq          bigint NOT NULL,
    message_id          text NOT NULL,
    account             text NOT NULL,
    state               text NOT NULL,
    parts               smallint NOT NULL,
    connector           text,
    operator_message_id text,
    error_code          integer,
    PRIMARY KEY (bucket, stream_ms, stream_seq, at)
) PARTITION BY RANGE (at);

CREATE INDEX message_events_message ON message_events (message_id, at);
