"""The response parser of the webhook client, fed bytes directly (sans-IO)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.webhooks.http1 import BODY_LIMIT, RemoteProtocolError, ResponseParser, request_head

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\nwiki\r\n5;name=v\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
)


def parse(*pieces: bytes) -> ResponseParser:
    parser = ResponseParser()
    for piece in pieces:
        if parser.feed(piece):
            break
    return parser


@pytest.mark.parametrize(
    ("response", "status", "reusable"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, True),
        (b"HTTP/1.1 200 OK\r\ncontent-length:0\r\nConnection: close\r\n\r\n", 200, False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 200, True),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            201,
            True,
        ),
        (b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", 503, True),
        (CHUNKED, 200, True),
    ],
)
def test_complete_answers(response: bytes, status: int, reusable: bool) -> None:
    parser = parse(response)
    assert (parser.done, parser.status, parser.reusable) == (True, status, reusable)


@given(st.sets(st.integers(min_value=1, max_value=len(CHUNKED) - 1), max_size=12))
def test_any_split_of_the_bytes_reads_the_same(cuts: set[int]) -> None:
    bounds = [0, *sorted(cuts), len(CHUNKED)]
    parser = parse(*(CHUNKED[a:b] for a, b in pairwise(bounds)))
    assert (parser.done, parser.status, parser.reusable) == (True, 200, True)


def test_a_body_without_length_ends_with_the_connection() -> None:
    parser = parse(b"HTTP/1.1 200 OK\r\n\r\nsome body")
    assert parser.status == 200 and not parser.done
    assert parser.end_of_stream() and not parser.reusable


def test_bytes_past_the_answer_make_the_connection_unusable() -> None:
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
    assert parser.done and not parser.reusable


def test_a_long_body_is_given_up_with_its_status() -> None:
    parser = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 4096 + b"x" * 4096 + b"\r\n"
    for _ in range(BODY_LIMIT // 4096 + 2):
        if parser.feed(chunk):
            break
    assert (parser.done, parser.too_long, parser.reusable, parser.status) == (
        True,
        True,
        False,
        200,
    )


@pytest.mark.parametrize(
    "response",
    [
        b"SMTP 220 hello\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n",
    ],
)
def test_malformed_answers_are_protocol_errors(response: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse(response)


def test_a_head_without_end_is_bounded() -> None:
    parser = ResponseParser()
    with pytest.raises(RemoteProtocolError, match="longer than"):
        for _ in range(100):
            parser.feed(b"X-Filler: " + b"a" * 1000 + b"\r\n")


def test_request_head_leaves_the_blank_line_to_the_caller() -> None:
    head = request_head("POST", "/a?b=1", "example.com:8080", [("Content-Length", "2")])
    assert head == b"POST /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 2\r\n"
