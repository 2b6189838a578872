"""Receipts of HTTP messages, as webhooks: the pipeline's `CallbackSink`.

A message sent over HTTP carries its `Callback` (our signed JSON webhook, or
Jasmin's dlr-url form) through the outbox and the receipt correlation, so
whichever shard learns its fate can call the customer. Nothing here blocks:
a delivery is handed to the `WebhookDispatcher`, which queues and retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from engine.customers.accounts import AccountConfig
from engine.messages.message import Callback
from engine.messages.receipt_map import SubmittedPart
from engine.webhooks import WebhookDelivery, WebhookDispatcher
from smpp.receipt import MessageState

JasminFields = Callable[..., dict[str, str]]


class WebhookCallbacks:
    def __init__(
        self,
        dispatcher: WebhookDispatcher,
        accounts: dict[str, AccountConfig],
        jasmin_fields: JasminFields | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.accounts = accounts
        self.jasmin_fields = jasmin_fields

    def submitted(self, part: SubmittedPart, connector: str, operator_id: str) -> None:
        """The operator took the message: Jasmin's level 1 (or 3) wants to know."""
        callback = part.callback
        if callback is None or not callback.url or not callback.level & 1:
            return
        if callback.form == "jasmin" and self.jasmin_fields is not None:
            fields = self.jasmin_fields(
                part=part, level=1, connector=connector, operator_id=operator_id
            )
            self._send(part, callback, fields, "submitted")

    def settled(
        self,
        part: SubmittedPart,
        state: MessageState,
        error: str,
        connector: str = "",
        operator_id: str = "",
    ) -> None:
        callback = part.callback
        if callback is None or not callback.url or not callback.level & 2:
            return
        if callback.form == "jasmin":
            if self.jasmin_fields is not None:
                fields = self.jasmin_fields(
                    part=part,
                    level=2,
                    state=state,
                    error=error,
                    connector=connector,
                    operator_id=operator_id,
                )
                self._send(part, callback, fields, "receipt")
            return
        done = time.time()
        payload = {
            "event": "receipt",
            "message_id": part.message_id,
            "state": state.name.lower(),
            "error": error,
            "to": part.destination_addr,
            "from": part.source_addr,
            "reference": part.reference,
            "price": part.price,
            "submitted_at": _iso(part.submitted_at),
            "done_at": _iso(done),
        }
        self._send(part, callback, payload, "receipt")

    def _send(self, part: SubmittedPart, callback: Callback, payload: dict, event: str) -> None:
        account = self.accounts.get(part.account)
        delivery = WebhookDelivery(
            account=part.account,
            message_id=part.message_id,
            url=callback.url,
            payload=payload,
            form="jasmin" if callback.form == "jasmin" else "json",
            method="GET" if callback.method == "GET" and callback.form == "jasmin" else "POST",
            secret=account.webhook_secret if account is not None else "",
            event=event,
            batch=account.webhook_batch if account is not None else 1,
        )
        self.dispatcher.submit(delivery)  # a refusal is counted as dropped there


def _iso(moment: float) -> str:
    """RFC 3339 in UTC with ``Z``, as every time the HTTP API shows."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
