"""The spec: ``slipway.yaml`` parsed, validated and located."""

from slipway.spec.base import is_valid_version
from slipway.spec.environment import Environment, Spec
from slipway.spec.load import DEFAULT_FILE, LoadedSpec, load_spec

__all__ = ["DEFAULT_FILE", "Environment", "LoadedSpec", "Spec", "is_valid_version", "load_spec"]
