"""Event-loop building blocks every room uses.

`batching` (`TickBatcher`: many items, one handler call per loop iteration;
`BackgroundTasks`), `throttle` (`TokenBucket`), `lag` (`LoopLag`: how late
the loop runs), `repeated` (`RepeatedWarning`), `collector` (the garbage
collector's settings of a busy process). No I/O of their own.

May import: ledger.retry, the standard library.
"""
