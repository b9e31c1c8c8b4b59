"""Each request's id, timing and outcome (ASGI middleware): the request id is the caller's
``X-Request-ID`` when it is a plain token (else a new one), answered in the same header and carried by
every log line written while the request runs; each request is counted and timed in the Prometheus
metrics (``service.metrics``) by its route template, method, model and status, and logged as one JSON
access line. With ``RECSYS_OTEL=1`` (and OpenTelemetry's SDK configured through its own ``OTEL_*``
variables, e.g. an OTLP exporter), each request is also a trace span; off by default, as MLflow is."""

from __future__ import annotations

import os
import re
import time
import uuid
from contextlib import nullcontext
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import service_log
from service.metrics import LATENCY, REQUESTS

HEADER = b"x-request-id"
TOKEN = re.compile(rb"[A-Za-z0-9._:-]{1,128}")  # an id we repeat in headers and logs as given
CURRENT: ContextVar[dict | None] = ContextVar("recsys_request", default=None)  # {"model": ...} of the request
log = service_log()


def current_request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    info = CURRENT.get()
    return None if info is None else info.get("request_id")


def note_model(name: str) -> None:
    """The model the current request asked for (its metrics label)."""
    info = CURRENT.get()
    if info is not None:
        info["model"] = name


def tracer():
    """OpenTelemetry's tracer when RECSYS_OTEL=1, else None. Unless the host process has configured a
    tracer provider, one is set up that exports by OpenTelemetry's own OTEL_TRACES_EXPORTER: ``console``
    (the default here) or ``otlp`` (``pip install opentelemetry-exporter-otlp-proto-http``; it reads
    OTEL_EXPORTER_OTLP_ENDPOINT)."""
    if os.environ.get("RECSYS_OTEL") != "1":
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        kind = os.environ.get("OTEL_TRACES_EXPORTER", "console")
        if kind == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        elif kind == "console":
            exporter = ConsoleSpanExporter()
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r}: use console or otlp (or unset RECSYS_OTEL)")
        provider = TracerProvider(resource=Resource.create({"service.name": "recsys-service"}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    return trace.get_tracer("recsys.service")


class Observed:
    def __init__(self, app: ASGIApp) -> None:
        self.app, self.tracer = app, tracer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(HEADER, b"")
        request_id = given.decode() if TOKEN.fullmatch(given) else uuid.uuid4().hex
        info: dict = {"model": None, "status": 500, "request_id": request_id}  # 500 unless a response starts
        token = CURRENT.set(info)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                info["seconds"] = time.perf_counter() - start
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        span = self.tracer.start_as_current_span(f"{scope['method']} {scope['path']}") if self.tracer else nullcontext()
        try:
            with span as current:
                try:
                    await self.app(scope, receive, sending)
                finally:
                    route = self.record(scope, info, info.get("seconds", time.perf_counter() - start))
                    if current is not None:
                        current.update_name(f"{scope['method']} {route}")
                        current.set_attributes(
                            {"http.request.method": scope["method"], "http.route": route, "url.path": scope["path"],
                             "http.response.status_code": info["status"], "recsys.model": info["model"] or "",
                             "recsys.request_id": request_id}
                        )  # fmt: skip
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            CURRENT.reset(token)

    @staticmethod
    def record(scope: Scope, info: dict, seconds: float) -> str:
        route = getattr(scope.get("route"), "path", None) or "unmatched"  # a template: bounded label values
        model = info["model"] or "none"
        REQUESTS.labels(route, scope["method"], model, str(info["status"])).inc()
        LATENCY.labels(route, scope["method"], model).observe(seconds)
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "model": info["model"],
                "status": info["status"],
                "ms": round(seconds * 1000, 2),
            },
        )
        return route
