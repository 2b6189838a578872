-- A message's row is inserted at its acceptance and updated at least once
-- more (its receipt, usually seconds later and so in another persister
-- round). An update is HOT, writing no index, only when the new version fits
-- in the row's own page. With the pages 80% full, a day's rows found room for
-- about one update in four; each of the others wrote a new entry in every
-- index of `messages` (six, the primary key included) and left a dead one.
-- Pages filled half leave room for each row's update. Measured by `python -m
-- bench.e2e`: 86% of the updates became HOT, PostgreSQL's CPU per message fell
-- by about a seventh, and the table took no more room (heap 862 bytes a
-- message against 899, indexes 461 against 502): the updates that left their
-- page had spread the rows as much as the free room does.
--
-- New day partitions get the setting; the existing ones keep their filled
-- pages and use it for the pages they add.

CREATE OR REPLACE FUNCTION smsgw_ensure_day_partitions(parent text, days timestamptz[])
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
                    ' WITH (fillfactor = 50)',
                    name, parent, first AT TIME ZONE 'UTC',
                    (first + interval '1 day') AT TIME ZONE 'UTC');
            EXCEPTION WHEN duplicate_table THEN
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

DO $$
DECLARE
    partition regclass;
BEGIN
    FOR partition IN SELECT inhrelid::regclass FROM pg_inherits
                      WHERE inhparent = 'messages'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 50)', partition);
    END LOOP;
END;
$$;
