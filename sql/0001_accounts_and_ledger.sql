-- Accounts, live-balance snapshots and the append-only ledger.
--
-- Every row written from a bucket event stream carries the event's position
-- (bucket, stream_ms, stream_seq): it is the event id, so applying an event
-- twice changes nothing, and it orders the events of one account.

CREATE TABLE accounts (
    account         text PRIMARY KEY,
    enabled         boolean NOT NULL,
    credit_limit    bigint NOT NULL CHECK (credit_limit >= 0),
    throughput      integer NOT NULL CHECK (throughput >= 0),
    quota           bigint NOT NULL CHECK (quota >= 0),
    quota_period    text NOT NULL CHECK (quota_period IN ('day', 'month')),
    -- What the account held before its oldest entry still in ledger_entries:
    -- 0, until old partitions are rolled up into it and dropped.
    opening_balance bigint NOT NULL DEFAULT 0,
    bucket          smallint NOT NULL,
    stream_ms       bigint NOT NULL,
    stream_seq      bigint NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- The balance and holds after the latest persisted event of each account.
CREATE TABLE balances (
    account    text PRIMARY KEY,
    balance    bigint NOT NULL,
    held       bigint NOT NULL,
    bucket     smallint NOT NULL,
    stream_ms  bigint NOT NULL,
    stream_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Append-only; one row per hold, capture, release or adjustment. Partitioned
-- by month: it grows with traffic and is read by time range, and old months
-- can be detached without touching the live one.
CREATE TABLE ledger_entries (
    at            timestamptz NOT NULL,
    bucket        smallint NOT NULL,
    stream_ms     bigint NOT NULL,
    stream_seq    bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('hold', 'capture', 'release', 'adjust')),
    account       text NOT NULL,
    amount        bigint NOT NULL,
    balance_delta bigint NOT NULL,
    held_delta    bigint NOT NULL,
    balance_after bigint NOT NULL,
    held_after    bigint NOT NULL,
    message_id    text,
    parts         smallint,
    reference     text,
    reason        text,
    PRIMARY KEY (bucket, stream_ms, stream_seq, at)
) PARTITION BY RANGE (at);

CREATE INDEX ledger_entries_account ON ledger_entries (account, stream_ms, stream_seq);
CREATE INDEX ledger_entries_message ON ledger_entries (message_id) WHERE message_id IS NOT NULL;

-- Creates the monthly partitions of `parent` covering `months` (any instant in
-- each month), once, even when several persisters ask at the same time.
CREATE FUNCTION smsgw_ensure_month_partitions(parent text, months timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    instant timestamptz;
    first   timestamp;  -- UTC wall time, so month arithmetic ignores the session zone
    name    text;
BEGIN
    FOREACH instant IN ARRAY months LOOP
        first := date_trunc('month', instant AT TIME ZONE 'UTC');
        name := parent || '_' || to_char(first, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext(name));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    name, parent, first AT TIME ZONE 'UTC',
                    (first + interval '1 month') AT TIME ZONE 'UTC');
            END IF;
        END IF;
    END LOOP;
END;
$$;
