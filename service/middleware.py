"""ASGI middleware of the service."""

from __future__ import annotations

import hmac
import math
import os
import time

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """ASGI middleware: a request whose body exceeds ``limit`` bytes gets 413 at once: by its
    Content-Length before any byte is read, or as soon as a chunked body passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self.reject(send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # a chunked body: the route's body reading answers 413
                raise HTTPException(413, self.message)
            return message

        await self.app(scope, counted, send)

    @property
    def message(self) -> str:
        return f"request body larger than {self.limit} bytes (RECSYS_MAX_BODY_BYTES)"

    async def reject(self, send: Send) -> None:
        await answer(send, 413, self.message, [])


OPEN_PATHS = ("/health", "/docs", "/openapi.json", "/docs/oauth2-redirect")  # probes and the API's description


class AccessControl:
    """ASGI middleware, off unless configured: an API key that every request but ``OPEN_PATHS`` sends as
    ``X-API-Key`` or ``Authorization: Bearer`` (else 401), and a rate limit per client address, a token
    bucket of ``rate`` requests per second with bursts of ``2 * rate`` (else 429 with Retry-After)."""

    def __init__(self, app: ASGIApp, api_key: str | None = None, rate: float | None = None, clock=time.monotonic) -> None:
        self.app, self.api_key, self.rate, self.clock = app, (api_key or "").encode(), rate, clock
        self.burst = 2 * rate if rate else 0.0
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or scope["path"].startswith("/docs-assets/"):
            return await self.app(scope, receive, send)
        if self.api_key and not self.authorised(dict(scope["headers"])):
            message = "missing or wrong API key: send it in the X-API-Key header (RECSYS_API_KEY)"
            return await answer(send, 401, message, [(b"www-authenticate", b"Bearer")])
        if self.rate:
            wait = self.take(scope["client"][0] if scope.get("client") else "unknown")
            if wait > 0:
                message = f"more than {self.rate:g} requests per second from this client (RECSYS_RATE_LIMIT): retry later"
                return await answer(send, 429, message, [(b"retry-after", str(math.ceil(wait)).encode())])
        await self.app(scope, receive, send)

    def authorised(self, headers: dict[bytes, bytes]) -> bool:
        given = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ")
        return hmac.compare_digest(given, self.api_key)

    def take(self, client: str) -> float:
        """Take a token from the client's bucket: 0 when there was one, else the seconds until there is."""
        now = self.clock()
        tokens, then = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if len(self.buckets) > 10_000:  # forget clients whose buckets have refilled
            self.buckets = {c: b for c, b in self.buckets.items() if b[0] + (now - b[1]) * self.rate < self.burst}
        if tokens < 1:
            self.buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate
        self.buckets[client] = (tokens - 1, now)
        return 0.0


async def answer(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *headers]})
    await send({"type": "http.response.body", "body": orjson.dumps({"detail": message})})


def access_settings() -> tuple[str | None, float | None]:
    """RECSYS_API_KEY and RECSYS_RATE_LIMIT (requests per second per client), both off when unset."""
    text = os.environ.get("RECSYS_RATE_LIMIT", "").strip()
    try:
        rate = float(text) if text else None
    except ValueError:
        rate = -1.0
    if rate is not None and not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"RECSYS_RATE_LIMIT={text!r}: give requests per second per client (e.g. 50), or leave it unset")
    return os.environ.get("RECSYS_API_KEY") or None, rate
