"""Messages: the pipeline one message goes through, by stage.

- accept: `intake` (validate, route and price a submit), `refusals` (answers
  and reasons of the commit point), `pipeline` (`Pipeline.commit`: the ledger
  batch that holds credit and appends to the outbox);
- outbox: `outbox` (which entry each waiting message has; acknowledgement);
- schedule and submit: `pipeline` (`enqueue`, the connector listener);
- settlement: `pipeline` (captures, releases, batched), `replacing` (replace_sm);
- reports: `receipt_matcher`, `receipt_ids` (the operator's id conventions)
  and `receipt_map` (operator id -> our message), `mo` (MO routing and
  intake), `reports` (state, waiters, webhook or receipt to the customer);
- the record: `lifecycle` (the table of states, events and transitions),
  `history` (state changes to the ledger, batched), `states` (recent states for
  query_sm), `waiters` (the HTTP OTP wait), `metrics` (histograms);
- `message` (the message value type and its outbox encoding).

May import: engine.customers (delivery to binds), engine.operators (schedulers),
engine.loop, ledger, router, smpp.
"""
