"""Event-loop building blocks every room uses.

`batching` (`TickBatcher`: many items, one handler call per loop iteration;
`BackgroundTasks`), `throttle` (`TokenBucket`), `lag` (`LoopLag`: how late
the loop runs), `repeated` (`RepeatedWarning`). No I/O of their own.

May import: ledger.retry, the standard library.
"""
