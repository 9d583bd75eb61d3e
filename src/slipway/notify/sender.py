"""Delivering notifications: in the background, with retries, recorded, never in the way.

A deployment must not wait for Slack, nor fail because Slack is down. Each
message is queued and a worker thread posts it; a failed post is retried
``retries`` times, pausing ``backoff_s``, then twice that, and so on (through
the injected clock, so a test of the schedule takes no time). A 4xx answer
other than 408/429 is not retried: the request itself is wrong. Whatever
happens is recorded in the store (``notifications``), sent or failed, with the
number of tries and the error — never the URL, which is a secret: it is read
from the environment variable the spec names and remembered as one
(``slipway.redact``). What is sent and what is recorded both go through the
process's ``Scrubber``; of a receiver's error answer only the status and its
scrubbed body are kept (receivers echo the request's path, which holds the
webhook's token).

``flush`` waits (a bounded time) for the queue to empty, so a CLI that ends
right after a deployment still delivers its last message.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slipway.clock import Clock
from slipway.errors import SlipwayError
from slipway.notify.channels import payload
from slipway.notify.messages import Message
from slipway.redact import SECRETS, remember_environ
from slipway.spec.notify import NotificationSpec
from slipway.store.records import Records

if TYPE_CHECKING:
    import httpx

ERROR_CHARS = 300


@dataclass(frozen=True)
class Delivery:
    channel: str
    event: str
    status: str  # sent | failed
    attempts: int
    error: str | None


def channel_name(spec: NotificationSpec) -> str:
    return spec.name or f"{spec.type} ${spec.url_env}"


class Notifier:
    """Sends messages to every channel subscribed to their event; see the module docstring."""

    def __init__(
        self,
        channels: Sequence[NotificationSpec],
        *,
        clock: Clock,
        records: Records | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._channels = list(channels)
        self._clock = clock
        self._records = records
        self._environ = os.environ if environ is None else environ
        remember_environ({c.url_env: "webhook" for c in self._channels}, self._environ)
        self._queue: queue.Queue[tuple[NotificationSpec, Message] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self.deliveries: list[Delivery] = []

    def send(self, message: Message) -> int:
        """Queue ``message`` for each channel that wants its event; how many were queued."""
        targets = [c for c in self._channels if message.event in c.events]
        if not targets:
            return 0
        with self._idle:
            self._pending += len(targets)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="slipway-notify", daemon=True
                )
                self._thread.start()
        for channel in targets:
            self._queue.put((channel, message))
        return len(targets)

    def flush(self, timeout_s: float) -> bool:
        """Wait until everything queued was delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout_s: float = 60.0) -> None:
        self.flush(timeout_s)
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=1.0)

    def _work(self) -> None:
        import httpx  # in the sender's thread, when there is something to send

        with httpx.Client(trust_env=False) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                channel, message = item
                try:
                    delivery = self._deliver(client, channel, message)
                    self.deliveries.append(delivery)
                    self._record(message, delivery)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _deliver(
        self, client: httpx.Client, channel: NotificationSpec, message: Message
    ) -> Delivery:
        import httpx

        name = channel_name(channel)
        url = self._environ.get(channel.url_env, "").strip()
        if not url:
            error = f"${channel.url_env} is not set"
            return Delivery(name, message.event, "failed", 0, error)
        body = SECRETS.data(payload(channel.type, message))
        error = "not tried"
        attempts = 0
        for attempt in range(channel.retries + 1):
            attempts = attempt + 1
            try:
                response = client.post(url, json=body, timeout=channel.timeout_s)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= response.status_code < 300:
                    return Delivery(name, message.event, "sent", attempts, None)
                error = f"HTTP {response.status_code}: {_body(response)}"
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    break  # the request is wrong: trying again will not help
            if attempt < channel.retries:
                self._clock.sleep(channel.backoff_s * 2**attempt)
        error = SECRETS.text(error.replace(url, f"<${channel.url_env}>"))[:ERROR_CHARS]
        return Delivery(name, message.event, "failed", attempts, error)

    def _record(self, message: Message, delivery: Delivery) -> None:
        if self._records is None:
            return
        with contextlib.suppress(SlipwayError):  # a busy store must not kill the worker
            self._records.add_notification(
                deployment_id=message.deployment_id,
                channel=delivery.channel,
                event=delivery.event,
                status=delivery.status,
                attempts=delivery.attempts,
                error=delivery.error,
            )


def _body(response: httpx.Response) -> str:
    """The start of an error answer's body, on one line, secrets masked."""
    text = " ".join(response.text.split())
    return SECRETS.text(text)[:200]
