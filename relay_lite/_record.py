"""``Record``: small immutable value classes, built without the ``dataclasses`` module.

Why not dataclasses: importing it (it pulls in ``inspect``) and generating a handful of
methods for each of the ~20 classes a chat call needs cost more at import time than
everything else relay_lite does, about a third of ``import urllib3`` itself. A Lambda cold
start pays that on every deploy. ``Record`` fills a class's first instances through one
generic ``__init__`` and compiles the class its own once it is hot (``HOT_AFTER``
instances: stream events are made once per chunk; then they are as cheap to make as a
dataclass's), and shares generic ``__repr__``, ``__eq__`` and ``__hash__``.

Rules: fields are the class's annotations in order (``ClassVar`` ones excluded), a class
attribute is the default, ``factory(default_factory=f)`` makes a fresh default per instance, and
``__post_init__`` runs after ``__init__``. Instances are frozen. ``_hidden_in_repr`` and
``_not_compared`` name fields left out of ``repr`` and of equality.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable, ClassVar, cast

if sys.version_info >= (3, 11):
    from typing import dataclass_transform  # novermin - guarded by the version check above
else:  # only type checkers read it, and they run on 3.11+

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda cls: cls


__all__ = ["Record", "factory", "FrozenInstanceError"]


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


if TYPE_CHECKING:  # (a TypeVar costs ~30 us to build at import; only checkers read these)
    from typing import TypeVar

    _T = TypeVar("_T")
    _R = TypeVar("_R", bound="Record")


def factory(*, default_factory: Callable[[], _T]) -> _T:
    """A per-instance default: ``factory(default_factory=dict)`` gives each instance its own."""
    return cast("_T", _Factory(default_factory))


_MISSING = object()

#: Instances a class makes through the generic ``__init__`` before it compiles its own.
#: Compiling costs ~0.1 ms a class, more than a few dozen generic calls: a one-shot
#: program (a cold start making one call) never pays it, a stream's event classes soon do.
HOT_AFTER = 24

_classvar_pattern: Any = None


def _is_classvar(annotation: object) -> bool:
    """Whether an annotation is ``ClassVar[...]``, ``typing.ClassVar[...]``, ``t.ClassVar``.

    Annotations are strings here; the regular expression is compiled only for one that
    mentions ClassVar at all, so classes without one never pay for it.
    """
    global _classvar_pattern
    text = annotation if type(annotation) is str else str(annotation)
    if "ClassVar" not in text:
        return False
    if _classvar_pattern is None:
        import re

        _classvar_pattern = re.compile(r"^(?:\w+\.)*ClassVar\b")
    return _classvar_pattern.match(text) is not None


def _compile_init(cls: type, fields: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    # The function's own names start with "__": a field cannot (a class body would have
    # mangled it), so no field name shadows them.
    params = []
    body = []
    namespace: dict[str, Any] = {}
    for name in fields:
        default = defaults.get(name, _MISSING)
        if default is _MISSING:
            params.append(name)
            body.append(f"    __d[{name!r}] = {name}")
        elif isinstance(default, _Factory):
            namespace[f"__make_{name}"] = default.make
            params.append(f"{name}=__MISSING")
            body.append(f"    __d[{name!r}] = __make_{name}() if {name} is __MISSING else {name}")
        else:
            namespace[f"__default_{name}"] = default
            params.append(f"{name}=__default_{name}")
            body.append(f"    __d[{name!r}] = {name}")
    namespace["__MISSING"] = _MISSING
    if hasattr(cls, "__post_init__"):
        body.append("    __self.__post_init__()")
    # Writing the instance dict directly skips the frozen __setattr__ (and is the fastest
    # way to set attributes: stream events are made once per chunk).
    source = f"def __init__(__self, {', '.join(params)}):\n    __d = __self.__dict__\n" + "\n".join(body)
    exec(source, namespace)  # noqa: S102 - source built from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _generic_init(cls: type) -> Any:
    """The ``__init__`` of a class until it is hot: fields set from the arguments by a loop.

    It hands over to the compiled ``__init__`` after ``HOT_AFTER`` instances, and for any
    call whose arguments do not fit the fields (missing, unknown, given twice, too many),
    so such a call raises exactly the ``TypeError`` the compiled one does. A race between
    threads only compiles twice.
    """
    made = 0

    def compiled() -> Any:
        init = _compile_init(cls, cls._fields, cls._record_defaults)  # type: ignore[attr-defined]
        setattr(cls, "__init__", init)  # noqa: B010
        return init

    def __init__(self: Any, /, *args: Any, **kwargs: Any) -> None:  # a field may be "self"
        nonlocal made
        made += 1
        fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
        given = len(args)
        defaults: dict[str, Any] = cls._record_defaults  # type: ignore[attr-defined]
        rest = fields[given:]
        if (
            made > HOT_AFTER
            or given > len(fields)
            # every keyword names a field not already given by position
            or (kwargs and any(name not in rest for name in kwargs))
            or any(name not in kwargs and name not in defaults for name in rest)
        ):
            compiled()(self, *args, **kwargs)
            return
        # Checked: now fill the instance dict, as the compiled __init__ does.
        values = self.__dict__
        for name, value in zip(fields, args):
            values[name] = value
        for name in rest:
            if name in kwargs:
                values[name] = kwargs[name]
            else:
                default = defaults[name]
                values[name] = default.make() if type(default) is _Factory else default
        post_init = getattr(self, "__post_init__", None)  # as the compiled one: even one
        if post_init is not None:  # added after the class was made
            post_init()

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


@dataclass_transform(frozen_default=True, field_specifiers=(factory,))
class Record:
    """Base of relay_lite's immutable value classes (see the module docstring)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden_in_repr: ClassVar[frozenset[str]] = frozenset()
    _not_compared: ClassVar[frozenset[str]] = frozenset()
    _compared: ClassVar[tuple[str, ...]] = ()
    # Worked out once per class for replace(), which builders call on every step.
    _field_set: ClassVar[frozenset[str]] = frozenset()
    _checked: ClassVar[bool] = False  # the class has a __post_init__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs for every record class at import (~30 on a plain call's path): kept lean.
        super().__init_subclass__(**kwargs)
        namespace = cls.__dict__
        fields = list(cls._fields)
        defaults: dict[str, Any] = {}
        bases = cls.__mro__[1:]
        if len(bases) > 2:  # not just (Record, object): inherit the bases' defaults
            for base in reversed(bases):
                defaults.update(getattr(base, "_record_defaults", {}))
        # The class's own annotations: from its dict (before 3.14 a bare cls.__annotations__
        # can be a base's), or from the lazy descriptor of PEP 649 where the dict lacks it.
        own = namespace.get("__annotations__")
        if own is None:
            own = getattr(cls, "__annotations__", {}) if "__annotate__" in namespace else {}
        for name, annotation in own.items():
            if (type(annotation) is not str or "ClassVar" in annotation) and _is_classvar(annotation):
                continue
            if name not in fields:
                fields.append(name)
            if name in namespace:
                default = namespace[name]
                if isinstance(default, (list, dict, set)):
                    # One object would be shared by every instance.
                    raise TypeError(
                        f"{cls.__name__}.{name}: use factory(default_factory=...) for a mutable default"
                    )
                defaults[name] = default
                if type(default) is _Factory:
                    delattr(cls, name)  # the factory is not a value to read
        seen_default = False
        for name in fields:
            if name in defaults:
                seen_default = True
            elif seen_default:
                raise TypeError(
                    f"{cls.__name__}: field {name!r} without a default follows one with a default"
                )
        cls._fields = tuple(fields)
        cls._field_set = frozenset(fields)
        cls._checked = hasattr(cls, "__post_init__")
        cls._record_defaults = defaults  # type: ignore[attr-defined]
        hidden = cls._not_compared
        cls._compared = tuple(n for n in fields if n not in hidden) if hidden else cls._fields
        setattr(cls, "__init__", _generic_init(cls))  # noqa: B010

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def __repr__(self) -> str:
        # Read the instance dict, not attributes: a field may be guarded by a property.
        values = self.__dict__
        shown = ", ".join(
            f"{name}={values[name]!r}" for name in self._fields if name not in self._hidden_in_repr
        )
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        mine, theirs = self.__dict__, other.__dict__
        return all(mine[n] == theirs[n] for n in self._compared)

    def __hash__(self) -> int:
        values = self.__dict__
        return hash(tuple(values[n] for n in self._compared))

    def replace(self: _R, **changes: Any) -> _R:
        """A copy with some fields changed (like ``dataclasses.replace``)."""
        cls = type(self)
        if not cls._field_set.issuperset(changes):
            unknown = changes.keys() - cls._field_set
            raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
        if cls._checked:  # its __post_init__ checks must see the new values
            values = dict(self.__dict__)
            values.update(changes)
            return cls(**values)
        # No checks to run: copy the instance dict (builders do this on every step). A
        # dict.copy() and one update cost less than filling an empty dict field by field.
        copy = object.__new__(cls)
        fields = self.__dict__.copy()
        fields.update(changes)
        object.__setattr__(copy, "__dict__", fields)
        return copy
