"""The two shapes of a notification on the wire.

``slack``: an incoming-webhook payload (``text`` as the fallback, ``blocks``
with a header, the fields two by two, the changes, the reason and the
escalation contacts); anything that accepts Slack's incoming webhooks
(Mattermost, Rocket.Chat, Discord's ``/slack`` endpoint) reads it.
``webhook``: the message as plain JSON, for your own receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slipway.notify.messages import Message, contact_lines


def slack_payload(message: Message) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.headline[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                for label, value in message.fields[:10]
            ],
        },
    ]

    def section(title: str, lines: list[str]) -> None:
        text = f"*{title}*\n" + "\n".join(f"• {line}" for line in lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})

    if message.reason:
        section("Reason", [message.reason])
    if message.changes:
        section("Changes", list(message.changes))
    if message.next_steps:
        section("Next steps", list(message.next_steps))
    if message.contacts:
        section("Escalation", contact_lines(message.contacts))
    return {"text": message.text(), "blocks": blocks}


def webhook_payload(message: Message) -> dict[str, Any]:
    return {"source": "slipway", **message.as_dict(), "text": message.text()}


#: one payload shape per notification ``type:`` of the spec
CHANNELS: dict[str, Callable[[Message], dict[str, Any]]] = {
    "slack": slack_payload,
    "webhook": webhook_payload,
}


def payload(kind: str, message: Message) -> dict[str, Any]:
    return CHANNELS[kind](message)
