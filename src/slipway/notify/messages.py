"""What each notification says: the seeds' announcement tables, as data.

The seeds' Slack messages carry a small table — version, commit, time, who —
then the changes (on success) or the reason (on a rollback), and the next
steps. A ``Message`` holds exactly that, and the escalation contacts when
something went wrong, so that whoever reads a failure knows whom to call.
Rendering to Slack blocks or to plain JSON is the channels' business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slipway.spec.notify import ContactLevel, NotifyEvent

TITLES: dict[str, str] = {
    "started": "Deployment started",
    "succeeded": "Deployment succeeded",
    "rolled_back": "Deployment rolled back",
    "failed": "Deployment failed",
    "waiting_for_approval": "Deployment waiting for approval",
}
ICONS = {
    "started": "🚀",
    "succeeded": "✅",
    "rolled_back": "⚠️",
    "failed": "🔴",
    "waiting_for_approval": "✋",
}


@dataclass(frozen=True)
class Message:
    event: NotifyEvent
    app: str
    environment: str
    deployment_id: str | None
    title: str
    fields: tuple[tuple[str, str], ...]
    changes: tuple[str, ...] = ()
    reason: str | None = None
    next_steps: tuple[str, ...] = ()
    contacts: tuple[ContactLevel, ...] = field(default_factory=tuple)

    @property
    def headline(self) -> str:
        return f"{ICONS[self.event]} {self.title}: {self.app}/{self.environment}"

    def text(self) -> str:
        """Plain text, for the ``text`` fallback of a Slack message and for logs."""
        lines = [self.headline]
        lines += [f"{label}: {value}" for label, value in self.fields]
        if self.reason:
            lines.append(f"Reason: {self.reason}")
        if self.changes:
            lines.append("Changes:")
            lines += [f"- {c}" for c in self.changes]
        if self.next_steps:
            lines.append("Next steps:")
            lines += [f"- {s}" for s in self.next_steps]
        if self.contacts:
            lines.append("Escalation:")
            lines += [f"- {line}" for line in contact_lines(self.contacts)]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "title": self.title,
            "app": self.app,
            "environment": self.environment,
            "deployment": self.deployment_id,
            "fields": dict(self.fields),
            "changes": list(self.changes),
            "reason": self.reason,
            "next_steps": list(self.next_steps),
            "contacts": [level.model_dump(exclude_none=True) for level in self.contacts],
        }


def contact_lines(levels: Sequence[ContactLevel]) -> list[str]:
    result = []
    for level in levels:
        for c in level.contacts:
            reach = " / ".join(x for x in (c.phone, c.handle) if x)
            hours = f" ({c.hours})" if c.hours else ""
            result.append(f"level {level.level}: {c.role} {c.name}, {reach}{hours}")
    return result


def build_message(
    event: NotifyEvent,
    *,
    app: str,
    environment: str,
    deployment_id: str | None,
    version: str,
    at: datetime,
    who: str | None,
    commit_id: str | None = None,
    previous_version: str | None = None,
    changes: Sequence[str] = (),
    reason: str | None = None,
    duration_s: float | None = None,
    rollback_s: float | None = None,
    gate: str | None = None,
    contacts: Sequence[ContactLevel] = (),
) -> Message:
    """The message for ``event``, with the fields the seeds' templates show for it."""
    fields: list[tuple[str, str]] = [("Version", version)]
    if commit_id:
        fields.append(("Commit", commit_id[:12]))
    fields.append(("Time", f"{at:%Y-%m-%d %H:%M} UTC"))
    if who:
        fields.append(("By", who))
    if previous_version and event in ("started", "rolled_back", "failed"):
        label = "Rolled back to" if event == "rolled_back" else "Previous version"
        fields.append((label, previous_version))
    if duration_s is not None and event in ("succeeded", "rolled_back", "failed"):
        fields.append(("Duration", f"{duration_s:.1f}s"))
    if rollback_s is not None:
        fields.append(("Rollback time", f"{rollback_s:.1f}s"))
    if gate:
        fields.append(("Gate", gate))
    next_steps: tuple[str, ...] = ()
    if event in ("rolled_back", "failed"):
        next_steps = (
            "investigate: `slipway logs " + (deployment_id or "<id>") + "`",
            "open an incident ticket and plan the post-mortem",
        )
    if event == "waiting_for_approval":
        target = deployment_id or "<deployment>"
        next_steps = (f"`slipway approve {target}` or `slipway reject {target}`",)
    bad = event in ("rolled_back", "failed")
    return Message(
        event=event,
        app=app,
        environment=environment,
        deployment_id=deployment_id,
        title=TITLES[event],
        fields=tuple(fields),
        changes=tuple(changes) if event in ("started", "succeeded", "waiting_for_approval") else (),
        reason=reason if bad or event == "waiting_for_approval" else None,
        next_steps=next_steps,
        contacts=tuple(contacts) if bad else (),
    )
