"""Is the split served the split set? Synthetic targeting keys through the flag server.

After a weight change the flag strategy asks the server that the app asks — over HTTP, as an
OFREP client — for ``keys`` synthetic targeting keys (``slipway-verify-<i>``), once it serves
the revision just written, and checks three things:

1. every answer is the variant the bucket gives (the server serves the state in the store);
2. the share of keys with the flag on is the weight set, within four standard deviations of
   a binomial share of that many keys (the buckets are a hash: they scatter like a coin);
3. every key that had the flag on at the previous weight still has it (sticky).

A failure is a ``CheckFailed``: the rollout stops and the flag goes back to 0 %.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import httpx

from slipway.errors import CheckFailed
from slipway.flags.evaluation import ON, Evaluation, Flag, evaluate

KEY_PREFIX = "slipway-verify-"
TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Verified:
    keys: int
    on: int
    share: float
    tolerance: float
    mismatches: int
    unsticky: int
    waited_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "on": self.on,
            "share": round(self.share, 4),
            "tolerance": round(self.tolerance, 4),
            "mismatches": self.mismatches,
            "unsticky": self.unsticky,
            "waited_s": round(self.waited_s, 3),
        }


def tolerance(weight: int, keys: int) -> float:
    """How far the observed share may be from ``weight`` percent over ``keys`` keys."""
    p = weight / 100
    return 4 * math.sqrt(p * (1 - p) / keys) + 1 / keys


class OfrepClient:
    """Single-flag OFREP evaluations over one keep-alive connection."""

    def __init__(self, url: str, *, token: str | None = None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=url, headers=headers, timeout=TIMEOUT_S, trust_env=False
        )

    def evaluate(self, flag: str, targeting_key: str) -> dict[str, Any]:
        try:
            answer = self._client.post(
                f"/ofrep/v1/evaluate/flags/{flag}",
                json={"context": {"targetingKey": targeting_key}},
            )
            body: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CheckFailed(f"the flag server did not answer for {flag}: {exc}") from exc
        if answer.status_code != 200:
            raise CheckFailed(
                f"the flag server answered {answer.status_code} for {flag}: "
                f"{body.get('errorCode')} {body.get('errorDetails', '')}".strip()
            )
        return body

    def close(self) -> None:
        self._client.close()


def _variant(result: object) -> str | None:
    return result.variant if isinstance(result, Evaluation) else None


def verify_split(
    client: OfrepClient,
    flag: str,
    *,
    weight: int,
    previous: int,
    keys: int,
    revision: int,
    wait_s: float = TIMEOUT_S,
) -> Verified:
    began = time.monotonic()
    while True:  # the server reads the store every refresh_s: wait for this revision
        served = client.evaluate(flag, f"{KEY_PREFIX}0").get("metadata", {}).get("revision", 0)
        if served >= revision:
            break
        if time.monotonic() - began > wait_s:
            raise CheckFailed(
                f"the flag server still serves revision {served} of the flags, not {revision}, "
                f"after {wait_s:g}s"
            )
        time.sleep(0.02)
    waited = time.monotonic() - began
    now, before = Flag(flag, weight), Flag(flag, previous)
    on = mismatches = unsticky = 0
    for i in range(keys):
        key = f"{KEY_PREFIX}{i}"
        variant = client.evaluate(flag, key).get("variant")
        mismatches += _variant(evaluate(now, key)) != variant
        on += variant == ON
        if variant != ON and _variant(evaluate(before, key)) == ON:
            unsticky += 1
    result = Verified(keys, on, on / keys, tolerance(weight, keys), mismatches, unsticky, waited)
    problems = []
    if mismatches:
        problems.append(f"{mismatches} keys got another variant than their bucket gives")
    if abs(result.share - weight / 100) > result.tolerance:
        problems.append(
            f"{result.share:.1%} of keys are on, not {weight}% (± {result.tolerance:.1%})"
        )
    if unsticky:
        problems.append(f"{unsticky} keys on at {previous}% are off at {weight}%")
    if problems:
        raise CheckFailed(f"{flag} is not served as set: {'; '.join(problems)}")
    return result
