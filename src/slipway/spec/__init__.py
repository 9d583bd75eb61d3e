"""The spec: ``slipway.yaml`` parsed, validated and located."""

from slipway.spec.load import DEFAULT_FILE, LoadedSpec, load_spec
from slipway.spec.model import Environment, Spec, is_valid_version

__all__ = ["DEFAULT_FILE", "Environment", "LoadedSpec", "Spec", "is_valid_version", "load_spec"]
