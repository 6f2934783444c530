"""Frozen data, clocks and the small value types."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given

from casework_flow import Actor, InvalidInput, ManualClock
from casework_flow._canonical import canonical
from casework_flow._clock import system_clock, to_utc
from casework_flow._frozen import FrozenMap, freeze, thaw

from .values import json_values


@given(json_values)
def test_freeze_thaw_round_trips_json_data(value):
    frozen = freeze(value)
    assert thaw(frozen) == value
    assert freeze(thaw(frozen)) == frozen
    hash(frozen)
    assert canonical({"v": thaw(frozen)}) == canonical({"v": value})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"when": datetime(2024, 1, 1, tzinfo=UTC)}, "data.when: datetime value"),
        ({"n": math.nan}, "data.n: nan is not a finite number"),
        ({1: "x"}, "data: key 1 is not a string"),
        ({"tags": {"a", "b"}}, "data.tags: set value"),
        ({"a": [1, {"b": object()}]}, "data.a[1].b: object value"),
    ],
)
def test_freeze_refuses_what_json_cannot_carry(value, message):
    with pytest.raises(InvalidInput, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        freeze(value)


def test_freeze_refuses_absurd_nesting():
    deep: list[object] = []
    for _ in range(40):
        deep = [deep]
    with pytest.raises(InvalidInput, match="nested deeper than 32"):
        freeze(deep)


def test_frozen_map_is_read_only_and_equal_to_a_dict():
    m = FrozenMap({"a": 1})
    assert m == {"a": 1}
    assert m.merged({"b": 2}) == {"a": 1, "b": 2}
    assert m.merged({}) is m
    assert m == FrozenMap({"a": 1})
    assert m != FrozenMap({"a": 2})
    assert (m == 3) is False
    with pytest.raises(TypeError):
        m["a"] = 2  # type: ignore[index]
    d = m.as_dict()
    d["a"] = 5
    assert m["a"] == 1
    assert repr(m) == "FrozenMap({'a': 1})"


def test_clocks():
    assert system_clock().tzinfo is UTC
    clock = ManualClock(datetime(2024, 3, 4, 8, tzinfo=timezone(timedelta(hours=7))))
    assert clock() == datetime(2024, 3, 4, 1, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    clock.advance(days=1)
    assert clock() == datetime(2024, 3, 5, 2, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="backwards"):
        clock.advance(days=-1)
    with pytest.raises(InvalidInput, match="backwards"):
        clock.set(datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="no timezone"):
        ManualClock(datetime(2024, 1, 1))  # noqa: DTZ001 - the point
    with pytest.raises(InvalidInput, match="expected a datetime"):
        to_utc("2024-01-01")  # type: ignore[arg-type]


def test_actor_roles_accept_a_single_string():
    assert Actor("sw-1", "social_worker").roles == frozenset({"social_worker"})
    assert repr(Actor("x")) == "<Actor x (no roles)>"


def test_freezing_a_flat_dict_copies_it():
    data = {"age": 23, "found_at": "Simpang Pos", "note": None, "urgent": True}
    frozen = freeze(data)
    data["age"] = 24
    assert frozen == {"age": 23, "found_at": "Simpang Pos", "note": None, "urgent": True}
