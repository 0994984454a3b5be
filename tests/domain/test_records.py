"""fast_init: the records built per request stay frozen dataclasses with the same behaviour."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.assessment import FollowUp
from service.domain.decision import Referral
from service.domain.records import fast_init


def test_a_record_keeps_the_dataclass_behaviour() -> None:
    item = FollowUp("fever", "Fever?", "same_day", "urgent", ("R1",))
    assert item == FollowUp("fever", "Fever?", "same_day", "urgent", ("R1",))
    assert hash(item) == hash(FollowUp("fever", "Fever?", "same_day", "urgent", ("R1",)))
    assert item != dataclasses.replace(item, question="Temperature?")
    assert repr(item).startswith("FollowUp(finding='fever', question='Fever?'")
    assert vars(item) == dataclasses.asdict(item)
    assert list(vars(Referral("R1", "urgent", "same_day", "ed"))) == [
        "rule_id",
        "level",
        "urgency",
        "destination",
    ]


def test_a_record_stays_frozen() -> None:
    item = Referral("R1", "urgent", "same_day", "ed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.level = "routine"  # type: ignore[misc]


def test_defaults_and_keywords() -> None:
    @fast_init
    @dataclasses.dataclass(frozen=True)
    class Pair:
        left: str
        right: str = "none"

    assert Pair("a") == Pair(left="a", right="none")
    assert Pair("a", right="b").right == "b"
    with pytest.raises(TypeError):
        Pair()  # type: ignore[call-arg]


def test_refuses_what_it_cannot_build() -> None:
    @dataclasses.dataclass
    class Mutable:
        value: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class Listed:
        values: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, Checked, Listed):
        with pytest.raises(TypeError):
            fast_init(cls)
