"""A running shard's figures in one answer, from its counters and metrics."""

from __future__ import annotations

from engine.admin.views import LedgerBatches, ShardStats
from engine.gateway import Gateway


def shard_stats(gateway: Gateway) -> ShardStats:
    registry = gateway.registry
    batches = int(registry.get_sample_value("smsgw_ledger_accept_batch_size_count") or 0)
    messages = int(registry.get_sample_value("smsgw_ledger_accept_batch_size_sum") or 0)
    return ShardStats(
        shard=gateway.config.shard,
        messages=dict(gateway.pipeline.counters),
        queue_depth={name: len(s) for name, s in sorted(gateway.schedulers.items())},
        customer_binds={
            account: count
            for account in sorted(gateway.accounts)
            if (count := gateway.binds.count(account))
        },
        held_deliveries=len(gateway.held),
        webhooks=dict(gateway.webhooks.counters),
        webhooks_held=gateway.webhooks.held,
        ledger_batches=LedgerBatches(
            batches=batches,
            messages=messages,
            mean=round(messages / batches, 2) if batches else 0.0,
        ),
    )
