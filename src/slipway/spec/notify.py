"""``notifications:`` and ``contacts:``: who is told what, and who is called when it fails."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from slipway.spec.base import EnvName, Model
from slipway.spec.base import LongSeconds as Seconds

NotifyEvent = Literal["started", "succeeded", "rolled_back", "failed", "waiting_for_approval"]

EVENTS: tuple[NotifyEvent, ...] = (
    "started",
    "succeeded",
    "rolled_back",
    "failed",
    "waiting_for_approval",
)


class NotificationSpec(Model):
    """An incoming webhook: Slack-compatible (``slack``) or a plain JSON POST (``webhook``)."""

    type: Literal["slack", "webhook"]
    name: str | None = Field(None, max_length=40)
    url_env: EnvName = Field(..., description="Variable holding the webhook URL (a secret).")
    events: list[NotifyEvent] = Field(default_factory=lambda: list(EVENTS))
    timeout_s: Seconds = 5.0
    retries: int = Field(3, ge=0, le=10)
    backoff_s: Seconds = Field(1.0, description="First pause between tries; doubles each time.")


class Contact(Model):
    role: str = Field(..., min_length=1, max_length=80)
    name: str = Field(..., min_length=1, max_length=80)
    phone: str | None = Field(None, max_length=40)
    handle: str | None = Field(None, max_length=80, description="@slack, e-mail, pager…")
    hours: str | None = Field(None, max_length=60, description="e.g. '9h-19h', '24/7'.")


class ContactLevel(Model):
    level: int = Field(..., ge=1, le=9)
    title: str | None = Field(None, max_length=80)
    contacts: list[Contact] = Field(..., min_length=1)
