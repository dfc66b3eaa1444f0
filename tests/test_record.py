"""Record: the immutable value classes that replace dataclasses on the import path."""

from __future__ import annotations

from typing import ClassVar, Optional

import pytest

from relay_lite import ChatResponse, Usage
from relay_lite._config import ClientConfig
from relay_lite._record import FrozenInstanceError, Record, factory


class Point(Record):
    kind: ClassVar[str] = "point"
    x: int
    y: int = 0
    tags: list = factory(default_factory=list)  # noqa: RUF012 - a per-instance default

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("x must be >= 0")


def test_fields_defaults_and_factories():
    a = Point(1)
    b = Point(1, 2, ["t"])
    assert (a.x, a.y, a.tags) == (1, 0, [])
    assert (b.x, b.y, b.tags) == (1, 2, ["t"])
    assert Point(1).tags is not Point(1).tags
    assert Point._fields == ("x", "y", "tags")


def test_instances_are_frozen():
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2
    with pytest.raises(AttributeError):
        del point.y


def test_post_init_runs():
    with pytest.raises(ValueError, match="x must be"):
        Point(-1)


def test_missing_or_unknown_arguments_are_type_errors():
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, z=3)
    with pytest.raises(TypeError):
        Point(1, x=2)


def test_repr_eq_hash_and_replace():
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert Usage(1, 2, 3) in {Usage(1, 2, 3)}
    moved = Point(1, 2).replace(y=5)
    assert moved == Point(1, 5)
    with pytest.raises(TypeError):
        Point(1).replace(z=1)


def test_field_without_default_after_one_with_default_is_refused():
    with pytest.raises(TypeError, match="without a default follows one with a default"):

        class Bad(Record):
            a: int = 1
            b: Optional[int]


def test_raw_is_hidden_from_repr_and_equality():
    a = ChatResponse(text="hi", raw={"big": "payload"})
    b = ChatResponse(text="hi", raw=None)
    assert a == b
    assert "payload" not in repr(a)


def test_api_key_is_hidden_from_config_repr():
    config = ClientConfig(provider="openai", protocol="openai", base_url="https://x", api_key="sk-hidden")
    assert "sk-hidden" not in repr(config)
    assert config.api_key == "sk-hidden"


def test_classvar_spelled_through_a_module_alias_is_not_a_field():
    import typing as t

    class WithConstant(Record):
        LIMIT: t.ClassVar[int] = 3
        value: int = 0

    assert WithConstant._fields == ("value",)


def test_mutable_default_is_refused():
    with pytest.raises(TypeError, match="factory"):

        class Shared(Record):
            items: list = []  # noqa: RUF012


def test_replace_copies_without_sharing_and_refuses_unknown_fields():
    original = ChatResponse(text="hi", usage=Usage(1, 2, 3))
    copy = original.replace(text="bye", status=200)
    assert (copy.text, copy.status, copy.usage) == ("bye", 200, Usage(1, 2, 3))
    assert (original.text, original.status) == ("hi", None)
    with pytest.raises(FrozenInstanceError):
        copy.text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="has no field 'colour'"):
        original.replace(colour="red")


def test_replace_still_runs_the_checks_of_a_class_with_post_init():
    from relay_lite import ConfigError, Timeouts

    with pytest.raises(ConfigError, match="Timeouts.connect"):
        Timeouts().replace(connect=-1)
    assert Timeouts().replace(read=5).read == 5.0


# -- the generic __init__ of a class's first instances, and the compiled one after ---------


def fresh_point_class() -> type:
    """A new class each time, so each test sees its generic __init__ from instance one."""

    class Fresh(Record):
        x: int
        y: int = 0
        tags: list = factory(default_factory=list)  # noqa: RUF012 - a per-instance default

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError("x must be >= 0")

    return Fresh


def construction_outcomes(cls: type) -> list[object]:
    """What each of a fixed set of calls gives: the instance's fields, or the exact error."""
    calls = [
        ((1,), {}),
        ((1, 2), {}),
        ((1, 2, ["t"]), {}),
        ((), {"x": 1, "tags": ["k"]}),
        ((1,), {"y": 5}),
        ((-1,), {}),
        ((), {}),
        ((1,), {"z": 3}),
        ((1,), {"x": 2}),
        ((1, 2, [], 4), {}),
        ((), {"y": 1}),
        ((1,), {"self": 2}),
    ]
    outcomes: list[object] = []
    for args, kwargs in calls:
        try:
            made = cls(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            outcomes.append((type(exc).__name__, str(exc)))
        else:
            outcomes.append(dict(made.__dict__))
    return outcomes


def test_generic_init_gives_what_the_compiled_init_gives_errors_included():
    from relay_lite import _record

    cold = fresh_point_class()
    generic = construction_outcomes(cold)
    hot = fresh_point_class()
    hot.__init__ = _record._compile_init(hot, hot._fields, hot._record_defaults)
    hot.__init__.__qualname__ = cold.__init__.__qualname__
    assert generic == construction_outcomes(hot)
    assert generic[:6] == [
        {"x": 1, "y": 0, "tags": []},
        {"x": 1, "y": 2, "tags": []},
        {"x": 1, "y": 2, "tags": ["t"]},
        {"x": 1, "y": 0, "tags": ["k"]},
        {"x": 1, "y": 5, "tags": []},
        ("ValueError", "x must be >= 0"),
    ]
    # (Python 3.10+ puts the qualified name before "__init__()": compare the tails.)
    messages = [outcome[1] for outcome in generic[6:]]
    assert [m[m.index("__init__()") :] for m in messages] == [
        "__init__() missing 1 required positional argument: 'x'",
        "__init__() got an unexpected keyword argument 'z'",
        "__init__() got multiple values for argument 'x'",
        "__init__() takes from 2 to 4 positional arguments but 5 were given",
        "__init__() missing 1 required positional argument: 'x'",
        "__init__() got an unexpected keyword argument 'self'",  # no field of that name
    ]


def test_generic_init_gives_each_instance_its_own_factory_default():
    cls = fresh_point_class()
    first, second = cls(1), cls(1)
    assert first.tags == [] and first.tags is not second.tags


def test_a_class_compiles_its_own_init_once_hot():
    from relay_lite._record import HOT_AFTER

    cls = fresh_point_class()
    generic = cls.__init__
    for i in range(HOT_AFTER):
        cls(i)
    assert cls.__init__ is generic
    made = cls(7, 8)
    assert cls.__init__ is not generic
    assert cls.__init__.__qualname__ == generic.__qualname__
    assert (made.x, made.y, made.tags) == (7, 8, [])
    assert cls(3).tags is not cls(3).tags


def test_fields_named_like_the_init_s_own_locals_keep_their_values_hot_or_not() -> None:
    from relay_lite._record import HOT_AFTER

    class Odd(Record):
        _d: int
        self: int = 0
        _MISSING: int = 1

    made = [Odd(5, self=2) for _ in range(HOT_AFTER + 2)]
    assert {(o._d, o.self, o._MISSING) for o in made} == {(5, 2, 1)}
    assert Odd.__init__.__qualname__.endswith("Odd.__init__")


def test_a_post_init_added_after_the_class_runs_for_every_instance_hot_or_not() -> None:
    from relay_lite._record import HOT_AFTER

    class Counted(Record):
        n: int

    def refuse_negative(self: Counted) -> None:
        if self.n < 0:
            raise ValueError(f"n is {self.n}")

    Counted.__post_init__ = refuse_negative  # type: ignore[attr-defined]
    refused = 0
    for _ in range(HOT_AFTER + 2):
        with pytest.raises(ValueError, match="n is -1"):
            Counted(-1)
        refused += 1
    assert refused == HOT_AFTER + 2
