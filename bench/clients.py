"""Clients the world has and wrk has not: slow, idle, distant ones, and a probe that times them.

Every client here talks only to 127.0.0.1, runs for a bounded time and stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

PROBE_BODY = json.dumps(
    {
        "patient": {"age_years": 40},
        "symptoms": {
            "onset": "gradual",
            "pain_nrs": 4,
            "steps_now": 4,
            "tender_5th_mt_base": "no",
            "tender_navicular": "no",
            "tender_metatarsal_point": "no",
        },
    }
).encode()


def _request(path: str, body: bytes | None, close: bool = False) -> bytes:
    method = "POST" if body is not None else "GET"
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """An answer's status, and whether the server closes the connection after it (as every
    HTTP/1.1 client must, the client then opens a new one: RFC 9112, section 9.6)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, closes = 0, False
    for line in head.split(b"\r\n"):
        lowered = line.lower()
        if lowered.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif lowered.startswith(b"connection:"):
            closes = b"close" in lowered
    await reader.readexactly(length)
    return status, closes


@dataclass
class ProbeResult:
    """What a once-a-second probe saw."""

    probes: int = 0
    ok: int = 0  # answered 200 within the limit
    worst_ms: float = 0.0
    statuses: dict[int, int] | None = None


async def probe_every_second(
    port: int, path: str, body: bytes | None, seconds: float, limit: float = 1.0
) -> ProbeResult:
    """A new connection and one request each second; 200 within `limit` seconds counts as ok."""
    result = ProbeResult(statuses={})
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        started = time.monotonic()
        status = 0
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout=limit * 3
            )
            writer.write(_request(path, body, close=True))
            status, _ = await asyncio.wait_for(_read_answer(reader), timeout=limit * 3)
            writer.close()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
        elapsed = time.monotonic() - started
        result.probes += 1
        result.worst_ms = max(result.worst_ms, elapsed * 1000)
        result.ok += status == 200 and elapsed <= limit
        assert result.statuses is not None
        result.statuses[status] = result.statuses.get(status, 0) + 1
        await asyncio.sleep(max(0.0, 1.0 - elapsed))
    return result


async def _trickler(port: int, kind: str, stop: float) -> None:
    """One slow client: its headers, its body or nothing at all, a byte every half second."""
    while time.monotonic() < stop:
        writer = None
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if kind == "headers":
                writer.write(b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            elif kind == "body":
                writer.write(
                    b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
            while time.monotonic() < stop:
                await asyncio.sleep(0.5)
                if kind == "headers":
                    writer.write(b"X-Slow: a\r\n")
                elif kind == "body":
                    writer.write(b" ")
                await writer.drain()
        except (OSError, ConnectionError):
            await asyncio.sleep(0.1)
        finally:
            if writer is not None:
                writer.close()


async def slow_clients_and_a_probe(
    port: int, kind: str, clients: int, seconds: float
) -> ProbeResult:
    """`clients` slow clients of one kind, and a real intake probe every second."""
    stop = time.monotonic() + seconds
    tricklers = [asyncio.create_task(_trickler(port, kind, stop)) for _ in range(clients)]
    await asyncio.sleep(1.0)  # let them all connect first
    result = await probe_every_second(port, "/v1/triage", PROBE_BODY, seconds - 1.5)
    for task in tricklers:
        task.cancel()
    await asyncio.gather(*tricklers, return_exceptions=True)
    return result


@dataclass
class LoadResult:
    """Requests answered by a closed-loop client population."""

    answered: int
    by_status: dict[int, int]
    seconds: float

    @property
    def rps(self) -> float:
        return self.answered / self.seconds


async def distant_clients(
    port: int, bodies: list[bytes], clients: int, delay: float, seconds: float
) -> LoadResult:
    """Keep-alive clients that wait `delay` after each answer before the next request (a
    client `delay` away, as seen by the server: a round trip between answers)."""
    stop = time.monotonic() + seconds
    counts: dict[int, int] = {}

    async def one(index: int) -> None:
        reader = writer = None
        sent = index
        while time.monotonic() < stop:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                writer.write(_request("/v1/triage", bodies[sent % len(bodies)]))
                sent += 1
                status, closes = await _read_answer(reader)
                counts[status] = counts.get(status, 0) + 1
                if closes:
                    writer.close()
                    writer = None
                if delay:
                    await asyncio.sleep(delay)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                counts[0] = counts.get(0, 0) + 1
                writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(clients)))
    elapsed = time.monotonic() - started
    return LoadResult(counts.get(200, 0), counts, elapsed)
