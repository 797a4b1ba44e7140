"""`@frozen`: what `@dataclass(frozen=True)` makes, at a fraction of the cost of defining it.

On Python 3.11, `@dataclass(frozen=True)` compiles six methods from source for every class, about
0.4 ms each class: a cold `mlopsgen render` defines some 110 of them, a quarter of its time.
`@frozen` lets dataclasses collect the fields (inheritance, defaults, `field()` and its flags, so
that `dataclasses.fields`, `replace` and `asdict` work as before) but compiles only `__init__`,
from those fields; `__eq__`, `__hash__`, `__repr__` and the refusing `__setattr__`/`__delattr__` are
closures over the fields, read with one `operator.attrgetter`. tests/test_frozen.py checks that
each behaves as `@dataclass(frozen=True)` does. Not supported: `InitVar` and `order`.
"""

from __future__ import annotations

import dataclasses
import reprlib
import sys
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError
from operator import attrgetter
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - it only informs type checkers
    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        return lambda decorated: decorated

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: type[T]) -> type[T]:
    """A frozen dataclass: fields from the annotations, compared, hashed and shown by value."""
    documented = bool(cls.__dict__.get("__doc__"))
    if not documented:  # dataclasses would write one from inspect.signature: slower than all the rest
        cls.__doc__ = cls.__name__
    cls = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # fields only: compiles nothing
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = frozenset(f.name for f in fields)
    own = dict(cls.__dict__)
    compared = _getter([f.name for f in fields if f.compare])
    hashed = _getter([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
    shown = [f.name for f in fields if f.repr]

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        return f"{self.__class__.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    init, signature = _init(cls, fields)
    for name, method in (("__init__", init), ("__repr__", __repr__), ("__eq__", __eq__)):
        if name not in own:  # like dataclasses: a method the class writes stays
            _install(cls, name, method)
    for name, method in (("__setattr__", __setattr__), ("__delattr__", __delattr__)):
        if name in own:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        _install(cls, name, method)
    # dataclasses' rule for eq and frozen: the fields' hash, unless the class writes __hash__ (a class
    # that writes only __eq__ has __hash__ None from Python, and gets the fields' hash too)
    class_hash = own.get("__hash__", MISSING)
    if class_hash is MISSING or (class_hash is None and "__eq__" in own):
        _install(cls, "__hash__", __hash__)
    if not documented:
        cls.__doc__ = f"{cls.__name__}{signature}"
    return cls


def _install(cls: type, name: str, method: Callable[..., Any]) -> None:
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, method)


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The named attributes as one tuple (attrgetter gives a bare value for one name, fails for none)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> tuple[Callable[..., None], str]:
    """`__init__` as dataclasses writes it for a frozen class (each field set through object's
    __setattr__; a default_factory called per instance; __post_init__ last), and its signature."""
    namespace: dict[str, Any] = {"__set": object.__setattr__, "__FACTORY": _HAS_DEFAULT_FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    seen_default = False
    for f in fields:
        name = f.name
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if f.default_factory is not MISSING:
            namespace[f"__factory_{name}"] = f.default_factory
            if f.init:
                param = f"{name}=__FACTORY"
                value = f"__factory_{name}() if {name} is __FACTORY else {name}"
            else:
                value = f"__factory_{name}()"
        elif f.default is not MISSING:
            namespace[f"__default_{name}"] = f.default
            param, value = f"{name}=__default_{name}", name
        else:
            param, value = name, name
        if f.init:
            if f.kw_only:
                keyword.append(param)
            else:
                if seen_default and not has_default:
                    raise TypeError(f"non-default argument {name!r} follows default argument")
                seen_default = seen_default or has_default
                positional.append(param)
        elif f.default_factory is MISSING:
            continue  # init=False with a plain default: the class attribute is the value
        body.append(f"    __set(self, {name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # the source is built above from field names (identifiers) only
    init: Callable[..., None] = namespace["__init__"]
    shown = params.removeprefix("self").removeprefix(", ")
    for key, value in namespace.items():
        if key.startswith(("__default_", "__factory_")):
            shown = shown.replace(key, "<factory>" if key.startswith("__factory_") else repr(value))
    return init, f"({shown.replace('__FACTORY', '<factory>')})"


class _HasDefaultFactory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _HasDefaultFactory()
