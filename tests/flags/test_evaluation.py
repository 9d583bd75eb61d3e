"""Evaluating a flag: the reasons, sticky buckets, an even split — and the same variant as
flagd's own evaluator (openfeature-flagd-core) gives every key."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from openfeature.contrib.tools.flagd.core.targeting.custom_ops import fractional

from slipway.flags.evaluation import Evaluation, EvaluationError, Flag, bucket, evaluate

KEYS = st.text(min_size=1, max_size=60)
FLAG_KEYS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)


def variant(flag: Flag, key: str | None) -> str:
    result = evaluate(flag, key)
    assert isinstance(result, Evaluation), result
    return result.variant


def test_each_reason() -> None:
    cases = [
        (Flag("f", 50, enabled=False), "u1", ("off", "DISABLED")),
        (Flag("f", 0, on_for=frozenset({"alice"})), "alice", ("on", "TARGETING_MATCH")),
        (Flag("f", 0), "u1", ("off", "STATIC")),
        (Flag("f", 0), None, ("off", "STATIC")),  # no key needed for one variant for all
        (Flag("f", 100), None, ("on", "STATIC")),
    ]
    for flag, key, expected in cases:
        result = evaluate(flag, key)
        assert isinstance(result, Evaluation)
        assert (result.variant, result.reason) == expected
    split = evaluate(Flag("f", 30), "u1")
    assert isinstance(split, Evaluation) and split.reason == "SPLIT"
    missing = evaluate(Flag("f", 30), None)
    assert isinstance(missing, EvaluationError) and missing.code == "TARGETING_KEY_MISSING"
    assert isinstance(evaluate(Flag("f", 30), ""), EvaluationError)


@settings(deadline=None, max_examples=300)
@given(flag=FLAG_KEYS, key=KEYS, low=st.integers(0, 100), high=st.integers(0, 100))
def test_a_user_keeps_the_flag_as_its_weight_grows(
    flag: str, key: str, low: int, high: int
) -> None:
    low, high = sorted((low, high))
    if variant(Flag(flag, low), key) == "on":
        assert variant(Flag(flag, high), key) == "on"


@settings(deadline=None, max_examples=300)
@given(flag=FLAG_KEYS, key=KEYS, weight=st.integers(1, 99))
def test_every_key_gets_the_variant_flagd_gives_it(flag: str, key: str, weight: int) -> None:
    context = {"targetingKey": key, "$flagd": {"flagKey": flag}}
    expected = fractional(context, ["on", weight], ["off", 100 - weight])
    assert variant(Flag(flag, weight), key) == expected


def test_buckets_spread_evenly_and_differ_between_flags() -> None:
    rng = random.Random(7)
    keys = [f"user-{rng.getrandbits(64)}" for _ in range(20_000)]
    counts = [0] * 100
    for key in keys:
        counts[bucket("new-checkout", key)] += 1
    assert min(counts) > 130 and max(counts) < 270  # 200 expected per bucket
    on_a = {k for k in keys if bucket("a", k) < 10}
    on_b = {k for k in keys if bucket("b", k) < 10}
    assert 0.05 < len(on_a & on_b) / len(on_a) < 0.15  # independent: ~10 % overlap
