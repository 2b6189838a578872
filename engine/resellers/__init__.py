"""Resellers (issue 19): an account that owns sub-accounts, moves credit down
to them and sells to them above its own price.

`hierarchy` (who may own whom, checked where accounts are created),
`markup` (a sub-account's price from its reseller's), `transfers` (credit
moved between a reseller and a sub-account as two ledger entries), `service`
(what the console and the v1 API call, as ``engine.platform.resellers``),
`margins` (the reseller's monthly margin, credited once per month).

May import: engine.admin, engine.customers, engine.billing, ledger.
Kept free of imports here: engine.admin.accounts imports `hierarchy`.
"""
