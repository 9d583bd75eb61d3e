"""The pieces every section of ``slipway.yaml`` is made of: the base model (unknown keys
are errors, values frozen), names, versions, ports and durations.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$"

_VERSION_RE = re.compile(VERSION_PATTERN)

Port = Annotated[int, Field(ge=1, le=65535)]

Seconds = Annotated[float, Field(gt=0, le=86_400)]

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


def is_valid_version(version: str) -> bool:
    """Versions become paths, program names and parts of remote commands: keep them tame."""
    return bool(_VERSION_RE.fullmatch(version)) and ".." not in version


class Model(BaseModel):
    """Every section: unknown keys are errors (a misspelt key points at its line), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

EnvName = Annotated[str, Field(pattern=ENV_NAME)]

Argv = Annotated[list[str], Field(min_length=1)]

# pre-flight checks and gates may wait longer than a rollout's steps
LongSeconds = Annotated[float, Field(gt=0, le=7 * 86_400)]
