"""The connection table the workers share: slots, who is turning, room to accept, hand-overs."""

from __future__ import annotations

import os
import socket
import time

import pytest

from service.http.connection_balance import FRESH, HAND_OVER, ConnectionTable
from service.http.gevent_worker import _queued

NOW = 1000.0


def _table(*rows: tuple[int, float]) -> ConnectionTable:
    """A table with one claimed slot per row: (connections, seconds since its loop turned)."""
    table = ConnectionTable(slots=8)
    for slot, (held, age) in enumerate(rows):
        assert table.claim(set(range(slot))) == slot
        table.publish(slot, held, NOW - age)
    return table


def test_slots_are_claimed_lowest_free_first_and_released() -> None:
    table = ConnectionTable(slots=3)
    assert table.claim(set()) == 0
    assert table.claim({0}) == 1
    assert table.claim({0, 1}) == 2
    assert table.claim({0, 1, 2}) is None  # full: that worker accepts without balancing
    table.publish(1, 5, NOW)
    table.release(1)
    assert table.fewest(0, NOW) is None  # a released row is never waited for


def test_a_claimed_slot_starts_empty() -> None:
    table = _table((9, 0.0), (4, 0.0))
    assert table.claim({0}) == 1  # the worker in slot 1 died; its successor gets the slot
    assert table.fewest(0, NOW) is None


def test_only_workers_whose_loop_turned_recently_count() -> None:
    table = _table((10, 0.0), (2, FRESH / 2), (0, FRESH * 2))
    assert table.fewest(0, NOW) == 2  # slot 2 holds fewer but has not turned: busy or gone
    assert table.fewest(1, NOW) == 10
    assert table.fewest(2, NOW) == 2


@pytest.mark.parametrize(
    ("mine", "other", "room"),
    [(0, 0, 2), (1, 0, 1), (2, 0, 0), (9, 0, 0), (5, 5, 2), (3, 10, 9)],
)
def test_room_keeps_a_worker_within_one_connection_of_the_fewest(
    mine: int, other: int, room: int
) -> None:
    table = _table((mine, 0.0), (other, 0.0))
    assert table.room(0, mine, NOW) == room


def test_no_room_limit_when_no_other_worker_is_turning() -> None:
    table = _table((50, 0.0), (0, FRESH * 3))
    assert table.room(0, 50, NOW) is None


@pytest.mark.parametrize(
    ("mine", "other", "hands_over"),
    [
        (HAND_OVER - 1, 0, False),
        (HAND_OVER, 0, True),
        (34, 30, False),  # 4 more, but not a quarter more: ordinary jitter
        (38, 30, True),
        (57, 7, True),
        (32, 32, False),
        (0, 5, False),
    ],
)
def test_a_worker_hands_over_only_when_it_holds_clearly_more(
    mine: int, other: int, hands_over: bool
) -> None:
    table = _table((mine, 0.0), (other, 0.0))
    threshold = table.hand_over_from(0, NOW)
    assert threshold is not None
    assert (mine >= threshold) is hands_over


def test_no_hand_over_to_a_worker_that_is_not_turning() -> None:
    table = _table((60, 0.0), (0, FRESH * 2))
    assert table.hand_over_from(0, NOW) is None


def test_a_forked_worker_and_its_master_share_the_rows() -> None:
    """The table is made before the fork; what the child publishes, the parent reads."""
    table = _table((0, 0.0), (0, 0.0))
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        table.publish(1, 17, NOW)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert table.fewest(0, NOW) == 17


def test_the_listen_queue_length_is_read_from_the_kernel() -> None:
    """The worker accepts a flood without balancing; it reads the queue's length from
    TCP_INFO (the offset of tcpi_unacked in Linux's struct tcp_info)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(7)]
        try:
            time.sleep(0.05)
            assert _queued(listener) == 7
            accepted, _ = listener.accept()
            accepted.close()
            assert _queued(listener) == 6
        finally:
            for client in clients:
                client.close()
    assert _queued(object()) == 0  # not a socket: not known
