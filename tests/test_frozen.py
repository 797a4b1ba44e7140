"""generator.frozen: @frozen behaves as @dataclass(frozen=True) does, class for class."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from generator.frozen import frozen


def _pair(body: str) -> tuple[type, type]:
    """The same class body under @dataclass(frozen=True) and under @frozen."""
    made = []
    for decorator in ("dataclass(frozen=True)", "frozen"):
        namespace: dict[str, Any] = {"dataclass": dataclass, "frozen": frozen, "field": field, "Any": Any}
        exec(f"@{decorator}\nclass Sample:\n" + body, namespace)
        made.append(namespace["Sample"])
    return made[0], made[1]


BODIES = {
    "plain": "    a: int\n    b: str = 'x'\n",
    "no fields": "    pass\n",
    "one field": "    a: int = 1\n",
    "factory": "    a: int\n    items: list = field(default_factory=list)\n",
    "flags": ("    a: int\n    secret: str = field(default='s', repr=False)\n"
              "    note: dict = field(default_factory=dict, compare=False)\n"),
    "not in init": ("    a: int\n    b: list = field(default_factory=lambda: [1], init=False)\n"
                    "    c: int = field(default=3, init=False)\n"),
    "keyword only": ("    a: int\n    b: int = field(default=2, kw_only=True)\n"
                     "    c: int = field(kw_only=True, default=0)\n"),
    "post init": ("    a: int\n    def __post_init__(self):\n"
                  "        object.__setattr__(self, 'a', self.a * 2)\n"),
    "own eq": ("    a: int\n    b: int = 0\n    def __eq__(self, other):\n"
               "        return isinstance(other, type(self)) and self.a == other.a\n"),
    "own hash": "    a: int\n    def __hash__(self):\n        return 7\n",
    "own repr": "    a: int\n    def __repr__(self):\n        return 'mine'\n",
}
ARGS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "plain": ((1,), {}), "no fields": ((), {}), "one field": ((), {}), "factory": ((1,), {}),
    "flags": ((1,), {"note": {"k": 1}}), "not in init": ((1,), {}), "keyword only": ((1,), {"c": 5}),
    "post init": ((2,), {}), "own eq": ((1, 2), {}), "own hash": ((1,), {}), "own repr": ((1,), {}),
}


def _state(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_frozen_behaves_as_a_frozen_dataclass(kind: str) -> None:
    reference, ours = _pair(BODIES[kind])
    args, kwargs = ARGS[kind]
    ref, mine = reference(*args, **kwargs), ours(*args, **kwargs)
    assert _state(ref) == _state(mine)
    assert repr(ref).replace("Sample", "X") == repr(mine).replace("Sample", "X")
    assert (ref == reference(*args, **kwargs)) == (mine == ours(*args, **kwargs))
    assert _hash(ref) == _hash(mine)  # the same tuple of values, or the same refusal (a list field)
    assert (ref == object()) is (mine == object()) is False
    assert [f.name for f in dataclasses.fields(ref)] == [f.name for f in dataclasses.fields(mine)]
    assert reference.__match_args__ == ours.__match_args__
    for name in ("a", "b", "elsewhere"):
        with pytest.raises(FrozenInstanceError):
            setattr(mine, name, 1)
        with pytest.raises(FrozenInstanceError):
            delattr(mine, name)
    assert dataclasses.asdict(mine) == dataclasses.asdict(ref)
    assert copy.deepcopy(mine) == mine


def _hash(obj: Any) -> int | str:
    try:
        return hash(obj)
    except TypeError as exc:
        return str(exc)


@frozen
class Pickled:
    a: int
    items: tuple[str, ...] = ()


def test_an_instance_pickles_and_copies() -> None:
    one = Pickled(1, ("x",))
    assert pickle.loads(pickle.dumps(one)) == one == copy.copy(one)
    assert hash(one) == hash(Pickled(1, ("x",)))


def test_defaults_factories_and_replace() -> None:
    _, ours = _pair(BODIES["factory"])
    one, two = ours(1), ours(2)
    assert one.items == [] and one.items is not two.items  # a new list for each instance
    changed = dataclasses.replace(one, a=5)
    assert (changed.a, changed.items, one.a) == (5, [], 1)
    _, keyword = _pair(BODIES["keyword only"])
    with pytest.raises(TypeError):
        keyword(1, 2)  # b is keyword-only
    assert keyword(1, b=4).b == 4


def test_the_errors_dataclasses_gives_for_a_class_it_cannot_make() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        _pair("    a: int = 1\n    b: int\n")
    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):
        _pair("    a: int\n    def __setattr__(self, name, value):\n        pass\n")


def test_a_subclass_adds_its_fields_after_its_bases() -> None:
    @frozen
    class Base:
        a: int
        b: int = 2

    @frozen
    class Child(Base):
        c: int = 3

    child = Child(1)
    assert (child.a, child.b, child.c) == (1, 2, 3)
    assert child != Base(1, 2) and Base(1, 2) == Base(1, 2)
    assert repr(child).endswith("Child(a=1, b=2, c=3)")
    with pytest.raises(FrozenInstanceError):
        child.c = 4  # type: ignore[misc]


def test_a_class_without_a_docstring_gets_its_signature_as_one() -> None:
    @frozen
    class Point:
        x: int
        y: int = 0
        tags: list[str] = field(default_factory=list)

    assert Point.__doc__ == "Point(x, y=0, tags=<factory>)"
