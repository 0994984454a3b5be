"""Frozen dataclasses built per request: an __init__ setting the instance dict in one call."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen dataclass an __init__ that sets its instance dict, whole, in one call.

    The dataclass's own __init__ calls object.__setattr__ once per field (a frozen class
    refuses plain assignment), about 1,400 machine instructions each: an answer's Assessment
    cost some 26,000 to build, and each request builds several records. One call setting a
    dict of every field costs under half of that. (Filling the dict that `self.__dict__`
    makes is cheaper still, but that dict shares its keys with the class, and CPython 3.11
    then reads each attribute on its slowest path: writing the answer cost more than was saved.)
    The class stays a frozen dataclass: fields, eq, hash, repr, replace; assignment refused.
    """
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: __post_init__ and __slots__ need the dataclass __init__")
    parameters: list[str] = []
    items: list[str] = []
    names: dict[str, Any] = {"_set": object.__setattr__}
    for field in dataclasses.fields(cls):
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: only plain fields and defaults")
        if field.name == "self" or field.name.startswith("_"):
            raise TypeError(f"{cls.__name__}.{field.name}: the name would clash in __init__")
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            names[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
        items.append(f"{field.name!r}: {field.name}")
    source = (
        f"def __init__(self, {', '.join(parameters)}):\n"
        f"    _set(self, '__dict__', {{{', '.join(items)}}})"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{cls.__name__}.__init__>", "exec"), names, namespace)  # noqa: S102 (field names)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
