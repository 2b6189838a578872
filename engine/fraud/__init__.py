"""The fraud guard: SMS pumping (fake OTP requests to premium or foreign
ranges) refused before anything is held (docs/fraud.md).

`settings` (the shard's ``[fraud]`` section and each account's geo list and
limits), `counters` (windows counted in memory, shared through the store),
`rules` (geo, velocity, spike and conversion, evaluated per message),
`conversion` (OTP codes sent and approved, told by the Verify API),
`blocks` (automatic blocks and the admin's lifts as each shard holds them),
`store`, `memory_store` and `redis_store` (where blocks, lifts, settings and
counts are shared), `metrics` (Prometheus), `guard` (the `Screen` the
pipeline runs, and `install_fraud_guard`).

May import: engine.messages (the screen's types), engine.admin.publishing,
engine.loop, ledger, router.
"""
