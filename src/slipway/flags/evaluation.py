"""Evaluating a flag for one targeting key: which variant, and why (OpenFeature's reasons).

A flag here is boolean: variant ``on`` (true) or ``off`` (false). Its ``weight`` is the
percentage of targeting keys that get ``on``. Assignment is by hash bucket, exactly as flagd's
``fractional`` shorthand assigns it (``fractional: [["on", w], ["off", 100 - w]]``): the
bucket of a key is MurmurHash3 (x86, 32 bits, seed 0) of the canonical CBOR encoding of
``[flagKey, targetingKey]``, scaled to ``[0, 100)``; the key is on when its bucket is below
the weight. So a key that has the flag keeps it as the weight grows (sticky), a flag's users
do not depend on another flag's, and a team that runs flagd on the flag file Slipway writes
serves every user the same variant as Slipway's own server.

Reasons: ``DISABLED`` (the flag was killed: off for everyone), ``TARGETING_MATCH`` (a key
listed in ``on_for``), ``STATIC`` (weight 0 or 100: one variant for all, no key needed),
``SPLIT`` (anything between: by bucket). A split without a targeting key cannot be
evaluated: ``TARGETING_KEY_MISSING``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import mmh3

ON, OFF = "on", "off"
VARIANTS: dict[str, bool] = {ON: True, OFF: False}
BUCKETS = 100


@dataclass(frozen=True)
class Flag:
    key: str
    weight: int = 0  # percent of targeting keys with the flag on
    enabled: bool = True
    on_for: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Evaluation:
    key: str
    variant: str
    reason: str  # STATIC | TARGETING_MATCH | SPLIT | DISABLED

    @property
    def value(self) -> bool:
        return VARIANTS[self.variant]


@dataclass(frozen=True)
class EvaluationError:
    key: str
    code: str  # FLAG_NOT_FOUND | TARGETING_KEY_MISSING | INVALID_CONTEXT | PARSE_ERROR | GENERAL
    details: str


def _cbor_text(text: str) -> bytes:
    """A CBOR text string (major type 3): its length header, then its UTF-8 bytes."""
    data = text.encode("utf-8")
    n = len(data)
    if n < 24:
        head = bytes([0x60 | n])
    elif n < 0x100:
        head = bytes([0x78, n])
    elif n < 0x10000:
        head = bytes([0x79]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x7A]) + n.to_bytes(4, "big")
    return head + data


@functools.lru_cache(maxsize=4096)
def _array_head(flag_key: str) -> bytes:
    """A 2-item CBOR array and its first item, the flag's key: the same for every user."""
    return b"\x82" + _cbor_text(flag_key)


def bucket(flag_key: str, targeting_key: str) -> int:
    """The key's bucket in ``[0, 100)`` for this flag (flagd's ``fractional``)."""
    encoded = _array_head(flag_key) + _cbor_text(targeting_key)
    return (mmh3.hash(encoded, signed=False) * BUCKETS) >> 32


def evaluate(flag: Flag, targeting_key: str | None) -> Evaluation | EvaluationError:
    if not flag.enabled:
        return Evaluation(flag.key, OFF, "DISABLED")
    if targeting_key is not None and targeting_key in flag.on_for:
        return Evaluation(flag.key, ON, "TARGETING_MATCH")
    if flag.weight <= 0:
        return Evaluation(flag.key, OFF, "STATIC")
    if flag.weight >= BUCKETS:
        return Evaluation(flag.key, ON, "STATIC")
    if not targeting_key:
        return EvaluationError(
            flag.key,
            "TARGETING_KEY_MISSING",
            f"{flag.key} is on for {flag.weight}% of users: the context needs a targetingKey",
        )
    on = bucket(flag.key, targeting_key) < flag.weight
    return Evaluation(flag.key, ON if on else OFF, "SPLIT")
