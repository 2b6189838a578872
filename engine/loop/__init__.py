"""Event-loop building blocks every room uses.

`batching` (`TickBatcher`: many items, one handler call per loop iteration;
`BackgroundTasks`), `throttle` (`TokenBucket`). No I/O of their own.

May import: ledger.retry, the standard library.
"""
