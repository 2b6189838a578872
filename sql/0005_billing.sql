-- Billing: what a message was priced with, top-up records, invoices.
--
-- Money stays in the ledger (`ledger_entries`): these tables describe it.
-- Every amount is an integer of micro-units (1 major unit = 1_000_000) of the
-- currency named beside it.

-- What the accept priced the message with; the CDR of a part is its row.
-- `price_per_part`, `held` and `charged` are in `currency` (the account's);
-- `list_price` is the tariff's price per part in `list_currency` before the
-- exchange rate (`exchange_rate`, a decimal: one `list_currency` unit in
-- `currency` units, "1" when they are the same) and the account's discount;
-- `cost_per_part` is what the operator charges us, in `cost_currency`.
ALTER TABLE messages
    ADD COLUMN currency      text,
    ADD COLUMN list_price    bigint,
    ADD COLUMN list_currency text,
    ADD COLUMN exchange_rate text,
    ADD COLUMN cost_per_part bigint,
    ADD COLUMN cost_currency text,
    ADD COLUMN route_id      text,
    ADD COLUMN network       text,
    ADD COLUMN country       text;

-- Who topped up, how and with which payment reference: the money itself is
-- the ledger's adjust entry of the same account and reference.
CREATE TABLE payments (
    account    text NOT NULL,
    reference  text NOT NULL,
    amount     bigint NOT NULL,
    currency   text NOT NULL,
    method     text NOT NULL,
    actor      text NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (account, reference)
);

-- Gapless numbering: the issuing transaction increments its series' row,
-- which locks it until commit, so a failed issue leaves no hole.
CREATE TABLE invoice_series (
    series text PRIMARY KEY,
    last   bigint NOT NULL CHECK (last >= 0)
);

CREATE TABLE invoices (
    id           text PRIMARY KEY,
    series       text NOT NULL,
    number       bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    account      text NOT NULL,
    currency     text NOT NULL,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    issued_at    timestamptz NOT NULL,
    refers_to    text REFERENCES invoices (id),
    subtotal     bigint NOT NULL,
    tax          bigint NOT NULL,
    total        bigint NOT NULL,
    document     jsonb NOT NULL,
    UNIQUE (series, number),
    CHECK (period_start < period_end)
);

CREATE UNIQUE INDEX invoices_one_per_period
    ON invoices (account, period_start, period_end) WHERE kind = 'invoice';
CREATE INDEX invoices_account ON invoices (account, issued_at DESC);

-- Issued is final: a correction is a credit note, never an edit.
CREATE FUNCTION smsgw_invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invoice % is issued and cannot change; issue a credit note', OLD.id;
END;
$$;

CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION smsgw_invoices_immutable();
