"""Typed per-request attributes (Ktor's ``Attributes`` and ``AttributeKey``)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

__all__ = ["AttributeKey", "Attributes"]

T = TypeVar("T")
D = TypeVar("D")


class AttributeKey(Generic[T]):
    """A typed key into :class:`Attributes`; compared by identity.

    Args:
        name: A name shown in ``repr`` and error messages.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"AttributeKey({self.name!r})"


class Attributes:
    """A mutable map from :class:`AttributeKey` to values, typed by the key."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[AttributeKey[Any], Any] = {}

    def __getitem__(self, key: AttributeKey[T]) -> T:
        try:
            value: T = self._data[key]
        except KeyError:
            raise KeyError(f"no attribute {key.name!r}") from None
        return value

    def __setitem__(self, key: AttributeKey[T], value: T) -> None:
        self._data[key] = value

    def __delitem__(self, key: AttributeKey[Any]) -> None:
        self._data.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    @overload
    def get(self, key: AttributeKey[T]) -> T | None: ...
    @overload
    def get(self, key: AttributeKey[T], default: D) -> T | D: ...
    def get(self, key: AttributeKey[Any], default: Any = None) -> Any:
        """Return the value for ``key``, or ``default`` when it is absent.

        Args:
            key: The attribute key.
            default: What to return when the key is absent.

        Returns:
            The stored value or ``default``.
        """
        return self._data.get(key, default)

    def compute_if_absent(self, key: AttributeKey[T], factory: Any) -> T:
        """Return the value for ``key``, storing ``factory()`` first when absent.

        Args:
            key: The attribute key.
            factory: A zero-argument callable producing the value.

        Returns:
            The stored value.
        """
        try:
            value: T = self._data[key]
        except KeyError:
            value = factory()
            self._data[key] = value
        return value

    def copy(self) -> Attributes:
        """Return a shallow copy."""
        new = Attributes()
        new._data = dict(self._data)
        return new

    def put_all(self, other: Attributes) -> None:
        """Copy every entry of ``other`` into this map, overwriting.

        Args:
            other: The attributes to copy from.
        """
        self._data.update(other._data)

    def __repr__(self) -> str:
        keys = ", ".join(k.name for k in self._data)
        return f"Attributes({keys})"
