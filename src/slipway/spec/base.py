"""The pieces every section of ``slipway.yaml`` is made of: the base model (unknown keys
are errors, values frozen), names, versions, ports and durations.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


def _no_nul(command: list[str]) -> list[str]:
    # Any other character (a newline in `sh -c` text, quotes) reaches the program as is; a NUL
    # cannot reach it at all (exec refuses it), so it is refused here, with its place.
    if any("\0" in word for word in command):
        raise ValueError("a NUL character cannot be in a command's argument")
    return command


def _env_map(env: dict[str, str]) -> dict[str, str]:
    for key, value in env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"{key!r} is not a valid environment variable name")
        if "\0" in value:
            raise ValueError(f"{key}: a NUL character cannot be in an environment variable")
    return env


#: a command's argv: at least the program, no NUL anywhere
Argv = Annotated[list[str], Field(min_length=1), AfterValidator(_no_nul)]
#: variables a process gets: names a shell would accept, values without NUL
EnvMap = Annotated[dict[str, str], AfterValidator(_env_map)]

# pre-flight checks and gates may wait longer than a rollout's steps
LongSeconds = Annotated[float, Field(gt=0, le=7 * 86_400)]
