"""``flags:``: Slipway as the environment's feature-flag source.

The flags' state lives in the store, per environment. ``slipway flags serve`` answers the
OpenFeature Remote Evaluation Protocol (OFREP) at ``listen``, so any OpenFeature SDK with an
OFREP provider evaluates them; and every change is also written as a flagd flag file
(``file``) for teams that run flagd. The ``flag`` strategy moves a flag's share of users.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from slipway.spec.base import EnvName, Model
from slipway.spec.router import ListenAddress

FLAG_KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class FlagsSpec(Model):
    """Where the environment's flags are served, and where their flagd file is written."""

    type: Literal["slipway"] = "slipway"
    listen: ListenAddress = Field(
        ..., description="Address of the OFREP server (`slipway flags serve`): loopback by default."
    )
    file: str | None = Field(
        "flags.json",
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="The flagd flag file, in the environment's state directory unless "
        "absolute; null: none.",
    )
    refresh_s: float = Field(
        0.05,
        gt=0,
        le=10,
        description="How often the server reads the flags' state from the store: the longest "
        "an abort's weight 0 takes to be served.",
    )
    token_env: EnvName | None = Field(
        None,
        description="Variable holding a token OFREP clients must send (`Authorization: Bearer` "
        "or `X-API-Key`); needed to listen beyond loopback.",
    )

    @model_validator(mode="after")
    def _exposed(self) -> FlagsSpec:
        if not self.listen.loopback and self.token_env is None:
            raise ValueError(
                f"flags.listen {self.listen} is beyond loopback: set `token_env` (a variable "
                "holding the token OFREP clients must send), or listen on 127.0.0.1"
            )
        return self
