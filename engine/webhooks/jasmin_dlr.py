"""The fields of Jasmin's dlr-url callback, for messages sent through its HTTP API.

A customer that sent with ``dlr=yes&dlr-url=...`` is called back the way
Jasmin (0.10 and later) calls: the webhook dispatcher sends these fields as a
query string (``dlr-method=GET``) or a form body (``POST``), unsigned.

- Level 1, the operator took the message (its ``submit_sm_resp``): ``id``,
  ``message_status`` (``ESME_ROK``), ``level`` (``1``), ``connector``.
- Level 2, the receipt: those, with ``level`` ``2`` and ``message_status`` the
  receipt's stat word (``DELIVRD``, ``UNDELIV``...), plus ``id_smsc``, ``sub``,
  ``dlvrd``, ``subdate``, ``donedate`` (``YYMMDDhhmm``, UTC), ``err``, ``text``.

Jasmin writes ``level=2`` on a receipt even when level 3 (both) was asked,
and ``level=1`` on the submit result: so do we, as receivers branch on it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from engine.messages.receipt_map import SubmittedPart
from smpp.receipt import STAT_WORDS, MessageState

SUBMIT_LEVEL = 1
"""The operator's answer to the submit (Jasmin's "SMS-C level")."""
RECEIPT_LEVEL = 2
"""The delivery receipt (Jasmin's "terminal level")."""
UNKNOWN_CONNECTOR = "unknown"
"""What Jasmin writes when it does not know the connector."""
_OK_STATUS = "ESME_ROK"


def submit_fields(message_id: str, connector: str) -> dict[str, str]:
    """Level 1: the operator accepted the message."""
    return {
        "id": message_id,
        "message_status": _OK_STATUS,
        "level": str(SUBMIT_LEVEL),
        "connector": connector or UNKNOWN_CONNECTOR,
    }


def receipt_fields(
    message_id: str,
    state: MessageState,
    error: str,
    connector: str,
    submitted_at: float,
    done_at: float,
    operator_id: str = "",
    text: str = "",
) -> dict[str, str]:
    """Level 2: the final state, in the words of an SMPP receipt (Appendix B)."""
    return {
        "id": message_id,
        "message_status": STAT_WORDS[state],
        "level": str(RECEIPT_LEVEL),
        "connector": connector or UNKNOWN_CONNECTOR,
        "id_smsc": operator_id,
        "sub": "001",
        "dlvrd": "001" if state is MessageState.DELIVERED else "000",
        "subdate": _receipt_date(submitted_at),
        "donedate": _receipt_date(done_at),
        "err": error,
        "text": text[:20],
    }


def jasmin_dlr_fields(
    *,
    part: SubmittedPart,
    level: int,
    connector: str = "",
    state: MessageState | None = None,
    error: str = "000",
    operator_id: str = "",
    done_at: float | None = None,
) -> dict[str, str]:
    """The fields of one callback about ``part`` at ``level``: what
    `engine.callbacks.WebhookCallbacks` asks for (its ``jasmin_fields``)."""
    if level == SUBMIT_LEVEL:
        return submit_fields(part.message_id, connector)
    if state is None:
        raise ValueError("a receipt (level 2) needs the message state")
    return receipt_fields(
        part.message_id,
        state,
        error,
        connector,
        part.submitted_at,
        time.time() if done_at is None else done_at,
        operator_id,
    )


def _receipt_date(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%y%m%d%H%M")
