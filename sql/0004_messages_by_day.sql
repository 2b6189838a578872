-- Messages partitioned by day, each with its history in its own row; old days
-- dropped whole by the persister's retention (`[persister] retention_days`).
--
-- A message used to cost a `messages` row written three times plus one
-- `message_events` row per state change. Now it is one `messages` row per
-- persisted batch that touches it, its state changes appended to `history`, a
-- JSON array of `[state, at (unix ms), connector, operator_message_id,
-- error_code]`, oldest first (nulls where a change set none). The
-- `message_events` table goes; its rows are folded into `history` below.
--
-- `created_at` is the partition key: the message's acceptance (the ledger's
-- hold, its commit point), or, for a message whose acceptance was never
-- persisted, its first persisted change; once the acceptance is known the two
-- are equal, so the lists' time bounds on `accepted_at` hold for `created_at`
-- too and prune days. The primary key must hold the partition key: a message
-- id is unique because one persister worker owns each bucket (and its events)
-- and finds a message before it inserts it (ledger.pgstore).
--
-- `ledger_entries` keeps its monthly partitions and is never dropped by
-- message retention: balances and `smsgw ledger reconcile` depend on it.
-- `messages_operator_id` is not recreated: nothing reads messages by the
-- operator's id (receipt correlation lives in Redis), and it cost an index
-- entry per message.

-- Creates the daily partitions of `parent` covering `days` (any instant of each
-- UTC day), once, even when several persisters ask at the same time.
CREATE FUNCTION smsgw_ensure_day_partitions(parent text, days timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    instant timestamptz;
    first   timestamp;  -- UTC wall time, so day arithmetic ignores the session zone
    name    text;
BEGIN
    FOREACH instant IN ARRAY days LOOP
        first := date_trunc('day', instant AT TIME ZONE 'UTC');
        name := parent || '_' || to_char(first, 'YYYY_MM_DD');
        -- Another transaction may be creating it: the advisory lock waits for it,
        -- and the block catches the race the catalog cache can still lose.
        IF to_regclass(quote_ident(name)) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(name));
            BEGIN
                EXECUTE format(
                    'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)'
                    ' WITH (fillfactor = 80)',
                    name, parent, first AT TIME ZONE 'UTC',
                    (first + interval '1 day') AT TIME ZONE 'UTC');
            EXCEPTION WHEN duplicate_table THEN
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

-- The monthly kind, as 0001 made it but safe against the same race (several
-- persister workers now start a month at the same time).
CREATE OR REPLACE FUNCTION smsgw_ensure_month_partitions(parent text, months timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    instant timestamptz;
    first   timestamp;
    name    text;
BEGIN
    FOREACH instant IN ARRAY months LOOP
        first := date_trunc('month', instant AT TIME ZONE 'UTC');
        name := parent || '_' || to_char(first, 'YYYY_MM');
        IF to_regclass(quote_ident(name)) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(name));
            BEGIN
                EXECUTE format(
                    'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    name, parent, first AT TIME ZONE 'UTC',
                    (first + interval '1 month') AT TIME ZONE 'UTC');
            EXCEPTION WHEN duplicate_table THEN
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

ALTER TABLE messages RENAME TO messages_before_0004;
ALTER INDEX messages_pkey RENAME TO messages_before_0004_pkey;
ALTER INDEX messages_account_accepted RENAME TO messages_before_0004_accepted;
ALTER INDEX messages_account_destination RENAME TO messages_before_0004_destination;
ALTER INDEX messages_account_reference RENAME TO messages_before_0004_reference;

-- fillfactor 80 (on each partition): a receipt's update rewrites no indexed
-- column, so room in the page lets it stay a HOT update.
CREATE TABLE messages (
    message_id          text NOT NULL,
    account             text NOT NULL,
    state               text NOT NULL,
    parts               smallint NOT NULL,
    held                bigint,
    charged             bigint,
    connector           text,
    operator_message_id text,
    error_code          integer,
    destination         text,
    source              text,
    reference           text,
    price_per_part      bigint,
    accepted_at         timestamptz,
    updated_at          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    history             jsonb NOT NULL DEFAULT '[]',
    -- Position of the newest change applied: an older one never overwrites it.
    bucket              smallint NOT NULL,
    stream_ms           bigint NOT NULL,
    stream_seq          bigint NOT NULL,
    PRIMARY KEY (message_id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX messages_account_accepted
    ON messages (account, accepted_at DESC, message_id DESC);
CREATE INDEX messages_account_destination
    ON messages (account, destination, accepted_at DESC, message_id DESC);
CREATE INDEX messages_account_reference
    ON messages (account, reference, accepted_at DESC, message_id DESC)
    WHERE reference IS NOT NULL;

SELECT smsgw_ensure_day_partitions(
    'messages',
    ARRAY(SELECT DISTINCT date_trunc('day', COALESCE(accepted_at, updated_at))
            FROM messages_before_0004));

INSERT INTO messages (message_id, account, state, parts, held, charged, connector,
                      operator_message_id, error_code, destination, source, reference,
                      price_per_part, accepted_at, updated_at, created_at, history,
                      bucket, stream_ms, stream_seq)
SELECT m.message_id, m.account, m.state, m.parts, m.held, m.charged, m.connector,
       m.operator_message_id, m.error_code, m.destination, m.source, m.reference,
       m.price_per_part, m.accepted_at, m.updated_at, COALESCE(m.accepted_at, m.updated_at),
       COALESCE(h.history, '[]'), m.bucket, m.stream_ms, m.stream_seq
  FROM messages_before_0004 m
  LEFT JOIN (
      SELECT message_id,
             jsonb_agg(jsonb_build_array(state, (extract(epoch FROM at) * 1000)::bigint,
                                         connector, operator_message_id, error_code)
                       ORDER BY stream_ms, stream_seq) AS history
        FROM message_events
       GROUP BY message_id
  ) h USING (message_id);

DROP TABLE messages_before_0004;
DROP TABLE message_events;
