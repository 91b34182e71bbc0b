"""Query parameters: the immutable ``Parameters`` and the mutable ``ParametersBuilder``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import ClassVar, Final, TypeAlias, cast
from urllib.parse import quote_plus

from multidict import MultiDict, MultiMapping

__all__ = ["ParameterValue", "Parameters", "ParametersBuilder", "ParametersInput"]

_QUERY_SAFE: Final = "!$'()*,/:?@"  # what yarl leaves unescaped in query names and values

ParameterValue: TypeAlias = str | int | float | bool
"""A query parameter value: numbers are rendered with ``str``, ``bool`` as ``true``/``false``."""

ParametersInput: TypeAlias = (
    "Parameters | ParametersBuilder | Mapping[str, ParameterValue | Sequence[ParameterValue]]"
    " | Iterable[tuple[str, ParameterValue]]"
)
"""What ``Parameters`` and ``ParametersBuilder`` accept: a mapping (a list or tuple value
gives several values), an iterable of ``(name, value)`` pairs, or existing parameters."""


def _param_str(name: str, value: ParameterValue) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TypeError(
        f"Value of parameter {name!r} must be a str, int, float or bool, "
        f"got {type(value).__name__}: {value!r}"
    )


def _param_pairs(
    data: Mapping[str, ParameterValue | Sequence[ParameterValue]]
    | Iterable[tuple[str, ParameterValue]],
) -> Iterator[tuple[str, str]]:
    """Yield ``(name, value)`` pairs of ``str`` from user input."""
    pairs: Iterable[tuple[str, ParameterValue | Sequence[ParameterValue]]]
    pairs = data.items() if isinstance(data, Mapping) else data
    for name, value in pairs:
        if not isinstance(name, str):
            raise TypeError(f"Parameter name must be a str, got {type(name).__name__}: {name!r}")
        if isinstance(value, (list, tuple)):
            for item in value:
                yield name, _param_str(name, item)
        else:
            yield name, _param_str(name, cast(ParameterValue, value))


def _encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Encode pairs as ``application/x-www-form-urlencoded`` (the way yarl does)."""
    return "&".join(
        f"{quote_plus(k, safe=_QUERY_SAFE)}={quote_plus(v, safe=_QUERY_SAFE)}" for k, v in pairs
    )


def _names_of(data: MultiMapping[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(data.keys()))


class _StringValues:
    """Read access shared by ``Parameters`` and ``ParametersBuilder`` (Ktor's StringValues)."""

    __slots__ = ("_data",)

    _data: MultiMapping[str]

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of parameter ``name``.

        Args:
            name: The parameter name (case-sensitive).
            default: What to return when the parameter is absent.

        Returns:
            The first value, or ``default``.
        """
        return self._data.get(name, default)

    def get_all(self, name: str) -> list[str]:
        """Return every value of parameter ``name``, in order.

        Args:
            name: The parameter name (case-sensitive).

        Returns:
            The values; an empty list when the parameter is absent.
        """
        return self._data.getall(name, [])

    def items(self) -> list[tuple[str, str]]:
        """Return every ``(name, value)`` pair, duplicates included, in order.

        Returns:
            The pairs.
        """
        return list(self._data.items())

    def is_empty(self) -> bool:
        """Tell whether there are no parameters.

        Returns:
            ``True`` when empty.
        """
        return not self._data

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __len__(self) -> int:
        return len(self._data)


class Parameters(_StringValues):
    """An immutable, ordered, case-sensitive multimap of query (or form) parameters.

    ``len`` counts ``(name, value)`` pairs; iteration yields each distinct name once.

    Args:
        data: A mapping of names to values (a list or tuple value gives several values),
            an iterable of ``(name, value)`` pairs, or other parameters. ``None`` gives
            no parameters.

    Raises:
        TypeError: If a name is not a ``str`` or a value not a ``str``, number or ``bool``.
    """

    __slots__ = ("_names",)

    EMPTY: ClassVar[Parameters]
    """Parameters without any entry."""

    _names: tuple[str, ...] | None

    def __init__(self, data: ParametersInput | None = None) -> None:
        self._names = None
        if data is None:
            self._data = MultiDict()
        elif isinstance(data, Parameters):
            self._data = data._data
            self._names = data._names
        elif isinstance(data, ParametersBuilder):
            self._data = MultiDict(data._data)
        else:
            self._data = MultiDict(_param_pairs(data))

    @classmethod
    def _wrap(cls, data: MultiMapping[str]) -> Parameters:
        self = object.__new__(cls)
        self._data = data
        self._names = None
        return self

    def names(self) -> tuple[str, ...]:
        """Return the distinct names, in order.

        Returns:
            The names.
        """
        names = self._names
        if names is None:
            names = self._names = _names_of(self._data)
        return names

    def form_url_encode(self) -> str:
        """Encode as ``application/x-www-form-urlencoded`` (``a=1&b=x+y``).

        Returns:
            The encoded text, without a leading ``?``.
        """
        return _encode_query(self._data.items())

    def builder(self) -> ParametersBuilder:
        """Return a ``ParametersBuilder`` pre-filled with these parameters.

        Returns:
            A new builder; changing it does not change these parameters.
        """
        return ParametersBuilder._sharing(self._data)

    def _grouped(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for key, value in self._data.items():
            groups.setdefault(key, []).append(value)
        return groups

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Parameters):
            return NotImplemented
        return len(self._data) == len(other._data) and self._grouped() == other._grouped()

    def __hash__(self) -> int:
        return hash(frozenset((k, tuple(v)) for k, v in self._grouped().items()))

    def __repr__(self) -> str:
        return f"Parameters({self.items()!r})"


Parameters.EMPTY = Parameters()


class ParametersBuilder(_StringValues):
    """A mutable, ordered, case-sensitive multimap to build ``Parameters``.

    Args:
        data: Initial parameters, in any form ``Parameters`` accepts.

    Raises:
        TypeError: If a name is not a ``str`` or a value not a ``str``, number or ``bool``.
    """

    __slots__ = ("_shared", "_version")

    _shared: bool  # _data is also held by Parameters: copy before the next change
    _version: int  # bumped on every change (URLBuilder reuses an unchanged raw query)

    def __init__(self, data: ParametersInput | None = None) -> None:
        self._shared = False
        self._version = 0
        if data is None:
            self._data = MultiDict()
        elif isinstance(data, Parameters):
            self._data = data._data
            self._shared = True
        elif isinstance(data, ParametersBuilder):
            self._data = MultiDict(data._data)
        else:
            self._data = MultiDict(_param_pairs(data))

    @classmethod
    def _sharing(cls, data: MultiMapping[str]) -> ParametersBuilder:
        self = object.__new__(cls)
        self._data = data
        self._shared = True
        self._version = 0
        return self

    def _mutable(self) -> MultiDict[str]:
        self._version += 1
        data = self._data
        if self._shared or not isinstance(data, MultiDict):
            data = self._data = MultiDict(data)
            self._shared = False
        return data

    def append(self, name: str, value: ParameterValue) -> None:
        """Add a value to parameter ``name``, after any existing ones.

        Args:
            name: The parameter name.
            value: The value; numbers and ``bool`` are converted to text.

        Raises:
            TypeError: If the value has an unsupported type.
        """
        self._mutable().add(name, _param_str(name, value))

    def set(self, name: str, value: ParameterValue) -> None:
        """Replace every value of parameter ``name`` with ``value``.

        Args:
            name: The parameter name.
            value: The only value the parameter will have.

        Raises:
            TypeError: If the value has an unsupported type.
        """
        self._mutable()[name] = _param_str(name, value)

    def remove(self, name: str) -> None:
        """Remove every value of parameter ``name``; nothing happens if absent.

        Args:
            name: The parameter name.
        """
        if name in self._data:
            self._mutable().popall(name)

    def append_all(self, data: ParametersInput) -> None:
        """Append every parameter of ``data``, keeping existing values.

        Args:
            data: Parameters in any form ``Parameters`` accepts.

        Raises:
            TypeError: If a name or value has an unsupported type; nothing is added then.
        """
        if isinstance(data, (Parameters, ParametersBuilder)):
            pairs = list(data._data.items())
        else:
            pairs = list(_param_pairs(data))
        if pairs:
            self._mutable().extend(pairs)

    def build(self) -> Parameters:
        """Return the parameters built so far.

        Returns:
            Immutable ``Parameters``; later changes to this builder do not affect them.
        """
        self._shared = True
        return Parameters._wrap(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(_names_of(self._data))

    def __repr__(self) -> str:
        return f"ParametersBuilder({self.items()!r})"
