"""Column types that keep SQLite as honest as PostgreSQL.

SQLite has no timestamp with time zone and no exact decimal: a ``DateTime`` comes back naive
with its offset dropped, and ``Numeric`` is stored as a binary float, so ``SUM(0.1 + 0.2)``
drifts. These types convert once, at the column, so every engine returns the same Python values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in, aware UTC datetimes out, on every engine.

    A naive datetime is refused with ``ValueError`` instead of being guessed at: the local time of
    the server is never the cardholder's.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass an aware datetime")
        utc = value.astimezone(UTC)
        # SQLite stores text: keep it naive UTC so lexical order is time order.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def to_money(value: Any) -> Decimal:
    """Convert to a Decimal with exactly two places; raise ValueError on floats and junk.

    Floats are refused because ``0.1`` is already wrong before it reaches the database.
    """
    if isinstance(value, float):
        raise ValueError("money must not be a float; pass a Decimal, int or decimal string")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"more than two decimal places: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


class Money(TypeDecorator[Decimal]):
    """Money as integer minor units (cents, fen) in the database and ``Decimal`` in Python.

    Integers add exactly on every engine, so ``SUM`` over a million rows is exact; the type is
    kept on aggregates (``func.sum(Account.balance)`` returns a Decimal).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # PostgreSQL returns SUM(bigint) as numeric (Decimal); SQLite as int.
        return (Decimal(value) / 100).quantize(CENT)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return self
