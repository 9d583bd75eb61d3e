"""Slipway: a deployment-runbook engine."""

__version__ = "0.1.0"
