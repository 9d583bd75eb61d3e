"""``release:``: where a release comes from (a directory, a tarball, a build command, or a
container image built from a Dockerfile or pulled from a registry)."""

from __future__ import annotations

import shlex

from pydantic import Field, field_validator, model_validator

from slipway.spec.base import EnvName, Model
from slipway.spec.invalid import Invalid

# an image reference: [registry[:port]/]repository[:tag], `{version}` allowed in it
IMAGE_NAME = (
    r"^([A-Za-z0-9.-]+(:[0-9]{1,5})?/)?[a-z0-9]+([._/-][a-z0-9]+)*"
    r"(:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|\{version\}))?$"
)


class ImageBuildSpec(Model):
    """``docker build`` of the release: context and Dockerfile relative to the spec."""

    context: str = Field(".", description="Build context directory, relative to the spec.")
    dockerfile: str = Field("Dockerfile", description="Relative to the context.")
    args: dict[EnvName, str] = Field(
        default_factory=dict, description="Build arguments; `{version}` is replaced."
    )


class ImageSpec(Model):
    """A release as a container image: built here (``build``) or pulled by digest (``name``).

    Its digest (the image ID of a build, the registry's manifest digest of a pull) is the
    release's digest; every container of the release runs exactly that image.
    """

    build: ImageBuildSpec | None = None
    name: str | None = Field(
        None,
        pattern=IMAGE_NAME,
        description="e.g. 127.0.0.1:25000/shop:{version}: resolved to its digest once, "
        "then pulled by digest.",
    )
    username_env: EnvName | None = Field(None, description="Variable holding the user name.")
    password_env: EnvName | None = Field(
        None, description="Variable holding the registry password (masked everywhere)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ImageSpec:
        if (self.build is None) == (self.name is None):
            raise ValueError("give exactly one of `build` or `name`")
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("give both `username_env` and `password_env`, or neither")
        if self.build is not None and self.username_env is not None:
            raise ValueError("registry credentials go with `name` (a pulled image)")
        return self


class ReleaseSpec(Model):
    """Where a release comes from: a directory or tarball (``path``), a build command, or a
    container ``image``."""

    path: str | None = Field(
        None, description="Directory or .tar.gz of a release; `{version}` is replaced."
    )
    build: str | None = Field(
        None,
        description="Command that builds a release into `{output}`; `{version}` is replaced. "
        "Run without a shell, split like a POSIX shell would.",
    )
    image: ImageSpec | None = Field(None, description="A container image (a docker target).")
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
        if sum(source is not None for source in (self.path, self.build, self.image)) != 1:
            raise ValueError("give exactly one of `path`, `build` or `image`")
        return self
