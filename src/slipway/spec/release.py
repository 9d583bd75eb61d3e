"""``release:``: where a release comes from (a directory, a tarball, a build command)."""

from __future__ import annotations

import shlex

from pydantic import Field, field_validator, model_validator

from slipway.spec.base import Model
from slipway.spec.invalid import Invalid


class ReleaseSpec(Model):
    """Where a release comes from: a directory or tarball (``path``) or a build command."""

    path: str | None = Field(
        None, description="Directory or .tar.gz of a release; `{version}` is replaced."
    )
    build: str | None = Field(
        None,
        description="Command that builds a release into `{output}`; `{version}` is replaced. "
        "Run without a shell, split like a POSIX shell would.",
    )
    keep: int = Field(5, ge=1, le=100, description="How many unpacked releases to keep.")

    @field_validator("build")
    @classmethod
    def _splits(cls, build: str | None) -> str | None:
        """Split now as the deployment will (``shlex``), so a stray quote fails `validate`."""
        if build is None:
            return None
        try:
            argv = shlex.split(build)
        except ValueError as exc:
            raise Invalid(
                f"cannot be split into arguments like a POSIX shell would: {exc}",
                hint="close the quote, or escape it with a backslash",
            ) from None
        if not argv:
            raise Invalid(
                "the build command is empty", hint="e.g. build: ./build.sh {version} {output}"
            )
        return build

    @model_validator(mode="after")
    def _one_source(self) -> ReleaseSpec:
        if (self.path is None) == (self.build is None):
            raise ValueError("give exactly one of `path` or `build`")
        return self
