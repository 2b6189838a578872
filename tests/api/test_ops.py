"""Liveness, readiness, metrics, the OpenAPI document and the body limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.limits import BodyLimit
from api.problems import HANDLERS
from api.server import HttpFront
from engine.config import ApiConfig
from tests.api.harness import running_api
from tests.engine.gateway_harness import simulator


async def test_health_and_ready_when_a_connector_is_bound() -> None:
    async with running_api("memory") as api:
        assert (await api.client.get("/health")).json() == {"status": "ok"}
        for _ in range(100):
            if api.engine.live_connectors():
                break
            await asyncio.sleep(0.02)
        answer = await api.client.get("/ready")
        assert answer.status_code == 200
        assert answer.json() == {
            "ready": True,
            "checks": {"connectors": {"ok": True, "bound": {"op-0": 1}}},
            "live_connectors": ["op-0"],
        }


async def test_not_ready_without_a_live_connector() -> None:
    operator = simulator()
    async with running_api("memory", operators=[operator]) as api:
        await operator.stop()
        for _ in range(200):
            if not api.engine.live_connectors():
                break
            await asyncio.sleep(0.02)
        answer = await api.client.get("/ready")
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "not_ready"
        assert "connectors" in answer.json()["checks"]


async def test_ready_reports_a_backend_that_does_not_answer() -> None:
    async def redis() -> None:
        raise ConnectionError("connection refused")

    async def persister() -> dict[str, object]:
        return {"lag": 7}

    async with running_api("memory") as api:
        api.engine.ready_checks = (redis, persister)
        answer = await api.client.get("/ready")
        assert answer.status_code == 503
        checks = answer.json()["checks"]
        assert checks["redis"] == {"ok": False, "error": "connection refused"}
        assert checks["persister"] == {"ok": True, "lag": 7}
        assert "redis: connection refused" in answer.json()["detail"]


async def test_metrics_are_prometheus_text() -> None:
    async with running_api("memory") as api:
        answer = await api.client.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert "smsgw_" in answer.text


async def test_openapi_document_and_docs_page() -> None:
    async with running_api("memory") as api:
        spec = (await api.client.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.1")
        assert "/health" in spec["paths"] and "/ready" in spec["paths"]
        page = await api.client.get("/docs")
        assert page.status_code == 200 and "/openapi.json" in page.text


async def test_unknown_path_and_method_are_problems() -> None:
    async with running_api("memory") as api:
        missing = await api.client.get("/nowhere")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        wrong = await api.client.post("/health")
        assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_read() -> None:
    async with running_api("memory", api=ApiConfig(max_body_bytes=100)) as api:
        declared = await api.client.post("/health", content=b"x" * 101)
        assert declared.status_code == 413 and declared.json()["code"] == "body_too_large"


async def test_a_streamed_body_is_cut_off_at_the_limit() -> None:
    async def echo(request: Request) -> Response:
        return Response(await request.body())

    app = Starlette(
        routes=[Route("/echo", echo, methods=["POST"])],
        middleware=[Middleware(BodyLimit, max_body_bytes=100)],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
    )

    async def chunks(count: int) -> AsyncIterator[bytes]:  # no Content-Length
        for _ in range(count):
            yield b"x" * 20

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/echo", content=chunks(5))).content == b"x" * 100
        cut = await client.post("/echo", content=chunks(6))
        assert cut.status_code == 413 and cut.json()["code"] == "body_too_large"


async def test_the_front_serves_over_a_real_socket() -> None:
    async with running_api("memory") as api:
        front = HttpFront(api.engine, "127.0.0.1", 0)
        await front.start()
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{front.port}/health")
            assert answer.json() == {"status": "ok"}
        finally:
            await front.stop()
