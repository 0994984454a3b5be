"""The gunicorn worker: gevent, so a slow, idle or distant client costs a greenlet, not a worker.

gunicorn's gevent worker gives every connection a greenlet; this subclass adds what a public
service needs on top (docs/serving.md):
- a deadline for each request's body and answer (`TRIAGE_REQUEST_TIMEOUT`): a client trickling
  its body gets 408, one that stops reading its answer is disconnected; the request head already
  has one (gunicorn's keep-alive timeout covers waiting for and reading the head);
- load shedding: a monitor greenlet marks each pass of the event loop; once a pass has used
  `TRIAGE_SHED_AFTER_MS` of CPU without the monitor getting its turn, every further request in it
  other than the health probes gets 503 with Retry-After at once, on a connection kept open,
  at a tenth of the cost of an answer (pre-built in each language: the head is already read,
  so it follows Accept-Language, service.http.server_problems); so a pass, and the wait of a
  probe queued behind it, stays bounded however many connections are ready;
- turns: after each answer a connection yields to the others, so a client whose next request
  is already there is not served again before them;
- balance: a worker holding more connections than another whose loop is turning leaves the
  next connection in the queue for it (service.http.connection_balance), so a burst of
  keep-alive clients is spread over the workers instead of landing on one;
- a drain at shutdown: connections the kernel already accepted are taken from the listen queue
  and answered before the listener closes, instead of being reset.
The rule engine never yields, so evaluations in one process still run one at a time.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import struct
import termios
import time
from functools import partial
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn import util
from gunicorn.http.body import LengthReader
from gunicorn.workers.ggevent import GeventWorker

from service.http.connection_balance import HAND_OVER_EVERY, ConnectionTable
from service.http.server_problems import Languages, ServerProblem

PROBES = frozenset({"/healthz", "/readyz"})
ACCEPT_BATCH = 512  # connections a worker accepts per pass of its event loop
_TICK = 0.01  # the monitor's interval, seconds
BUSY_PASS = 0.05  # seconds: a worker whose last pass took longer accepts in batches
LINGER_SECONDS, LINGER_BYTES = 1.0, 1 << 20  # at most, per closing connection
DEFER = 0.002  # seconds a worker holding more connections than another stops accepting
# Connections waiting in the kernel's listen queue past which a worker accepts without
# balancing: a flood is taken out of the queue (and shed) at once, as before balancing, instead
# of a few connections per pass of each worker while the probes wait behind it.
FLOOD = 128
# Linux's struct tcp_info: eight one-byte fields, then tcpi_rto, tcpi_ato, tcpi_snd_mss,
# tcpi_rcv_mss and tcpi_unacked, which on a listener is the length of its accept queue.
_ACCEPT_QUEUE = struct.Struct("=24xI")


def _queued(listener: Any) -> int:
    """Connections waiting in a TCP listener's accept queue (Linux), 0 when not known."""
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _ACCEPT_QUEUE.size)
    except (OSError, AttributeError):
        return 0
    return int(_ACCEPT_QUEUE.unpack_from(info)[0]) if len(info) >= _ACCEPT_QUEUE.size else 0


def _nothing_behind(req: Any, sock: Any) -> bool:
    """Nothing of a further request has arrived behind this one: the connection holds exactly
    the rest of a body of known length, buffered, and no byte waits in the socket. A client that
    pipelined its next request would lose it to a Connection: close (it must not retry a POST)."""
    reader = req.body.reader if req.body is not None else None
    if not isinstance(reader, LengthReader):  # chunked: where the body ends is not known yet
        return False
    with req.unreader.buf.getbuffer() as buffered:
        if buffered.nbytes != reader.length:
            return False
    waiting = bytearray(4)
    try:
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, waiting)
    except OSError:
        return False
    return int.from_bytes(waiting, "little") == 0


def _number(name: str, default: float, highest: float) -> float:
    raw = os.environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"forefoot-triage: {name}={raw!r} is not a number") from None
    if not 0 < value <= highest:
        raise SystemExit(f"forefoot-triage: {name}={raw!r} is out of range (0, {highest}]")
    return value


class RequestDeadline(TimeoutError):
    """The request's body or answer did not move within the request deadline."""


OVERLOADED = "The service is busy; please try again in a few seconds."


def overloaded_answer(languages: Languages, retry_after: int = 1) -> ServerProblem:
    """The 503 of a shed request, in each language. Kept alive (no Connection: close): a
    client closing and reconnecting at once would cost the server more."""
    return ServerProblem(languages, 503, OVERLOADED, (("Retry-After", str(retry_after)),))


class _AdaptiveServer(StreamServer):
    """gevent's StreamServer, accepting its room beside the other workers in each pass
    (service.http.connection_balance), and with no other worker turning, one connection per
    pass when its worker is at ease and up to ACCEPT_BATCH when its passes are long (the listen
    queue would otherwise back up)."""

    def __init__(self, *args: Any, worker: TriageWorker, **kwargs: Any) -> None:
        self.worker = worker  # before gevent's __init__, which reads max_accept
        self.batch = 1
        super().__init__(*args, **kwargs)

    @property
    def max_accept(self) -> int:
        return self.batch

    @max_accept.setter
    def max_accept(self, _value: int) -> None:
        """gevent's own setting is ignored: the number follows the worker's load and room."""

    def _do_read(self) -> None:
        """gevent's accept pass (gevent 26.9), put off for a moment while this worker has no
        room: the way gevent itself backs off after an accept error."""
        room = self.worker.accept_room()
        if room is not None and room < ACCEPT_BATCH and _queued(self.socket) > FLOOD:
            room = None  # a flood: empty the queue first (and shed), balance comes second
        if room is None:
            self.batch = ACCEPT_BATCH if self.worker.last_pass > BUSY_PASS else 1
        elif room == 0:
            self.stop_accepting()
            # gevent's own back-off timer: stop_accepting (at shutdown too) cancels it.
            self._timer = self.loop.timer(DEFER)
            self._timer.start(self._resume)
            return
        else:
            self.batch = min(room, ACCEPT_BATCH)
        super()._do_read()  # type: ignore[misc]  # private to gevent, absent from its stubs
        self.worker.publish_connections()

    def _resume(self) -> None:
        """Accept again after putting it off, unless the server or its worker was stopped
        meanwhile (at shutdown the server is not stopped, only no longer accepting)."""
        if self.started and self.worker.alive:
            self.start_accepting()


def _linger(sock: Any) -> None:
    """Close the sending side, then read and drop what the client still sends, briefly."""
    try:
        sock.shutdown(socket.SHUT_WR)
        with gevent.Timeout(LINGER_SECONDS, TimeoutError()):
            for _ in range(LINGER_BYTES // 65536):
                if not sock.recv(65536):
                    break
    except OSError:  # TimeoutError included: the client kept sending; close now
        pass


def _busy(server: StreamServer) -> bool:
    """The server still has connections in hand."""
    pool = server.pool
    return pool is not None and pool.free_count() != pool.size


class TriageWorker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker with request deadlines, lag-based shedding and a full drain."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = _number("TRIAGE_REQUEST_TIMEOUT", 15, 3600)
        self.shed_after = _number("TRIAGE_SHED_AFTER_MS", 500, 60_000) / 1000
        self.tick = time.monotonic()
        self.tick_cpu = time.thread_time()
        self.turn_cpu = 0.0  # the CPU the last connection's turn waited for (_take_turns)
        self.last_pass = 0.0
        self.languages = Languages()  # English until the app is loaded (load_wsgi)
        self.overloaded = overloaded_answer(self.languages)
        # Set by the master before the fork (gunicorn.conf.py's pre_fork); None: no balancing.
        self.connection_table: ConnectionTable | None = None
        self.slot: int | None = None
        self.pools: list[Pool] = []
        self.handing_over = 0  # connections answered with Connection: close to rebalance
        self.handed_over_at = 0.0  # time.monotonic() of the last
        # From how many connections this worker hands one over (None: no other turning), as
        # the monitor last read the table: a request compares two numbers.
        self.hand_over_from: int | None = None

    def load_wsgi(self) -> None:
        """Load the app, then build the shed answer once in each of its languages."""
        super().load_wsgi()
        self.languages = Languages.of(self.wsgi)
        self.overloaded = overloaded_answer(self.languages)

    def init_process(self) -> None:
        # The master's SIGTERM can arrive while gevent patches the process, before gunicorn
        # installs its handlers; the master's own handler, inherited, would drop it and the
        # master would wait its whole graceful time. Remember it instead.
        signal.signal(signal.SIGTERM, self._stop_early)
        super().init_process()

    def _stop_early(self, _signum: int, _frame: Any) -> None:
        self.alive = False

    def run(self) -> None:
        """gunicorn's GeventWorker.run (27.0.1), with two changes: the server accepts as
        _AdaptiveServer says (its room beside the other workers; with none turning, or a flood
        queued, up to ACCEPT_BATCH per pass of a busy loop, where gunicorn takes one when there
        are several workers and a burst, a probe among it, waited in the kernel's queue for
        seconds), and at shutdown the listeners stay open until the listen queue is drained
        and answered."""
        gevent.spawn(self._monitor)
        servers = []
        for listener in self.sockets:
            listener.setblocking(1)
            pool = Pool(self.worker_connections)
            self.pools.append(pool)
            server = _AdaptiveServer(
                listener, handle=partial(self.handle, listener), spawn=pool, worker=self
            )
            server.start()
            servers.append(server)
        while self.alive:
            self.notify()
            gevent.sleep(1.0)
        # Stop accepting but keep the listeners open (gunicorn closes them here, which fails the
        # connections accepted in the last pass: their handlers read the listener's name).
        # The other workers no longer leave connections to this one.
        self.publish_connections(turned=0.0)
        for server in servers:
            server.stop_accepting()
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline and any(_busy(server) for server in servers):
            self.notify()
            gevent.sleep(0.1)
        self._drain(self.sockets, deadline)
        for server in servers:
            server.stop(timeout=1)

    def _monitor(self) -> None:
        """Mark the passes of the event loop: a request sees how long the current one has run,
        the accept loop how long the last one took."""
        while True:
            now = time.monotonic()
            self.last_pass = max(0.0, now - self.tick - _TICK)
            self.tick, self.tick_cpu = now, time.thread_time()
            self.publish_connections()
            if self.connection_table is not None and self.slot is not None:
                self.hand_over_from = self.connection_table.hand_over_from(self.slot, now)
            gevent.sleep(_TICK)

    def held(self) -> int:
        """Connections this worker holds, less those it is handing over."""
        return sum(len(pool) for pool in self.pools) - self.handing_over

    def publish_connections(self, turned: float | None = None) -> None:
        """This worker's connections and its loop's last turn, for the others to read."""
        if turned is None and not self.alive:
            return  # stopping: the row says so (run), an accept pass must not undo it
        if self.connection_table is not None and self.slot is not None:
            moment = self.tick if turned is None else turned
            self.connection_table.publish(self.slot, self.held(), moment)

    def accept_room(self) -> int | None:
        """How many connections this worker may accept now, beside the others (None: no other
        worker is turning, or no table)."""
        if self.connection_table is None or self.slot is None:
            return None
        return self.connection_table.room(self.slot, self.held(), time.monotonic())

    def _hands_over(self, req: Any, sock: Any) -> bool:
        """This worker holds enough more connections than another to close one, and has not
        closed one for that within HAND_OVER_EVERY; never a connection closing anyway, nor one
        with a further request already behind this one."""
        threshold = self.hand_over_from
        if threshold is None or self.held() < threshold or req.should_close():
            return False
        now = time.monotonic()
        if now - self.handed_over_at < HAND_OVER_EVERY or not _nothing_behind(req, sock):
            return False
        self.handed_over_at = now
        return True

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        # The pass is measured in the worker's own CPU time: work queued in it is what shedding
        # cuts short; a pass that the operating system merely paused (a busy host) is not.
        if req.path not in PROBES and self._overloaded():
            util.write_nonblock(sock, self.overloaded(self._language(req)))
            self._take_turns()
            return True  # the unread body, if any, is skipped by the parser
        handing_over = self._hands_over(req, sock)
        if handing_over:
            # Connection: close on this answer; the client's next connection goes to a worker
            # holding fewer (it is standard HTTP/1.1: every client reconnects on its own).
            req.must_close = True
            self.handing_over += 1
        try:
            return self._answer(listener_name, req, sock, addr)
        finally:
            if handing_over:
                self.handing_over -= 1

    def _answer(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        """gunicorn's handling of one request, within the request deadline."""
        deadline = gevent.Timeout(self.request_timeout, RequestDeadline())
        deadline.start()
        try:
            handled: bool = super().handle_request(listener_name, req, sock, addr)
        except RequestDeadline:
            # The answer could not be written in time: the client stopped reading.
            raise StopIteration() from None
        except StopIteration:
            # gunicorn closes the connection after this answer; a body the client is still
            # sending (an answer before the body was read, e.g. 413) would turn the close into
            # a reset that destroys the answer in the client's buffer: linger first.
            _linger(sock)
            raise
        finally:
            expired = not deadline.pending
            deadline.close()
        if expired:  # answered 408 for a body that did not arrive: the rest is not read
            raise StopIteration()
        self._take_turns()
        return handled

    def _language(self, req: Any) -> str:
        """The language a request's head asks for (its head was read: it can choose)."""
        accept = next((v for name, v in req.headers if name == "ACCEPT-LANGUAGE"), None)
        return self.languages.choose(accept, req.query)

    def _overloaded(self) -> bool:
        """Work queued ahead of a request is past the threshold, in this worker's CPU time:
        the current pass of the loop, or the last turn a connection waited for. CPU, not wall
        time: a host that merely pauses the worker queues no work."""
        now = time.thread_time()
        return now - self.tick_cpu > self.shed_after or self.turn_cpu > self.shed_after

    def _take_turns(self) -> None:
        """Yield to every other ready connection before reading this one's next request, and
        remember the CPU that turn took. gevent reads a connection's next request without
        yielding when it has already arrived, so a quick client was served again and again
        while the others waited (p99 of hundreds of milliseconds at 8 connections); with turns,
        a long turn is the queue: 2,000 ready connections make every connection wait for the
        other 1,999 answers, which a pass of the loop no longer shows."""
        before = time.thread_time()
        gevent.sleep(0)
        self.turn_cpu = time.thread_time() - before

    def _drain(self, listeners: list[Any], deadline: float) -> None:
        """Answer every connection still waiting in the listen queue."""
        handlers = []
        for listener in listeners:
            try:
                listener.setblocking(False)
                while True:
                    client, addr = listener.accept()
                    client.setblocking(True)
                    handlers.append(gevent.spawn(self.handle, listener, client, addr))
            except BlockingIOError:
                pass
            except OSError as error:
                if error.errno not in (errno.EBADF, errno.EINVAL):
                    self.log.warning("Could not drain the listen queue at shutdown")
        gevent.joinall(handlers, timeout=max(1.0, deadline - time.monotonic()))
