"""Presets: ``slipway init --preset NAME`` writes a spec for a kind of project (``PRESETS``),
and the release builds those specs name (``python -m slipway.presets.django_build``)."""
