"""The composition root: the command line, `smsgw dev` and the production wiring.

The only package that knows every room: `cli` (the ``smsgw`` console script),
`commands` (serve, dev, hash-password), `ledger_commands` (migrate, ledger
reconcile and persist), `dev` (embedded mode: in-memory ledger, simulated
operator, demo account), `production` (Redis and PostgreSQL backends), `logs`
(structlog set-up).

May import: everything. Nothing imports it.
"""
