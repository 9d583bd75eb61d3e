"""Secrets out of everything Slipway records, prints or sends: one ``Scrubber`` for the process.

A spec never holds a secret, only the names of the environment variables that
do (a ``url_env``, an ``env`` check with ``secret: true``). Their values still
turn up where nobody asked for them: a pre-flight command that prints
``$DATABASE_URL``, a libpq error quoting a password, a webhook receiver that
echoes the secret path of its URL in its error body. Each of those would reach
the Go/No-Go table, ``--output json``, the store and the notifications.

So every value that is a secret is remembered here when it is read
(``remember_environ``, ``Dsn.parse``, the store's own URL), and the three
exits go through the same ``SECRETS``: the store's free-text columns
(``store/columns.py``), the CLI's printing (``view.py``) and the notifier.
Like a CI runner's masks, the set only grows for the life of the process, and
a value is replaced wherever it appears — as typed, percent-encoded (inside a
URL), JSON-escaped and markup-escaped.

Values shorter than ``MIN_CHARS`` are not remembered: masking ``"pw"``
everywhere would hide ordinary words and numbers, and so short a value is no
secret.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote, quote_plus, unquote, urlsplit

from rich.markup import escape

MASK = "***"
MIN_CHARS = 4
# how a variable's value is a secret: as a whole; a database URL (and its password); a
# webhook URL (and its path, which is where Slack-like services put the token)
SecretKind = Literal["value", "dsn", "webhook"]


class Scrubber:
    """Known secret values, and text or data with each of them replaced by ``***``."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: tuple[str, ...] = ()
        self.add(*values)

    def add(self, *values: str | None) -> None:
        """Remember each value (from ``MIN_CHARS`` characters on) as a secret."""
        new = {v for v in values if v and len(v) >= MIN_CHARS} - self._values
        if not new:
            return
        with self._lock:
            self._values |= new
            forms = {f for v in self._values for f in _forms(v) if len(f) >= MIN_CHARS}
            # longest first: a URL is masked whole before the password inside it is looked for
            self._forms = tuple(sorted(forms, key=lambda f: (-len(f), f)))

    def add_value(self, value: str | None, kind: SecretKind = "value") -> None:
        """Remember a variable's value; a URL's password too, a webhook URL's path too."""
        if not value or not value.strip():
            return
        value = value.strip()
        self.add(value)
        parts = _url_parts(value)
        if parts is None:
            self.add(_conninfo_password(value))
            return
        password, path, query = parts
        self.add(password)
        if kind == "webhook":
            self.add(path, path.lstrip("/"), query)
            self.add(*(segment for segment in path.split("/") if len(segment) >= 8))

    def text(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def data(self, value: Any) -> Any:
        """``value`` (JSON-like: dicts, lists, strings …) with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def json_text(self, text: str) -> str:
        """A JSON document scrubbed value by value, so that masking keeps it valid JSON."""
        if not any(form in text for form in self._forms):
            return text
        try:
            loaded = json.loads(text)
        except ValueError:
            return self.text(text)
        return json.dumps(self.data(loaded), sort_keys=True)

    def __contains__(self, text: object) -> bool:
        """Whether ``text`` holds a known secret (in any of its forms)."""
        return isinstance(text, str) and any(form in text for form in self._forms)


def _forms(value: str) -> set[str]:
    """The ways ``value`` appears in output: as typed, inside a URL, in JSON, escaped for Rich."""
    return {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        escape(value),
    }


def _url_parts(value: str) -> tuple[str | None, str, str] | None:
    """(password, path, query) of a URL with a scheme and a host part; None for anything else."""
    if "://" not in value:
        return None
    try:
        url = urlsplit(value)
        password = url.password
    except ValueError:  # a malformed port or IPv6 host: the value as a whole is still masked
        return None
    # the unescaped password can be in the text too (libpq prints it decoded)
    return (unquote(password) if password else None), url.path, url.query


def _conninfo_password(value: str) -> str | None:
    """``password=…`` of a libpq key/value string (``host=db password=s3cret``)."""
    for word in value.split():
        key, sep, rest = word.partition("=")
        if sep and key == "password":
            return rest.strip("'")
    return None


SECRETS = Scrubber()


def scrub(text: str) -> str:
    """``text`` without any secret this process knows."""
    return SECRETS.text(text)


def scrub_data(value: Any) -> Any:
    return SECRETS.data(value)


def remember_environ(
    variables: Mapping[str, SecretKind], environ: Mapping[str, str] | None = None
) -> None:
    """Remember the values of ``variables`` (name → kind) as they are set in ``environ``."""
    environ = os.environ if environ is None else environ
    for name, kind in variables.items():
        SECRETS.add_value(environ.get(name), kind)
