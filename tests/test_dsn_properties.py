"""Property: a database URL is parsed as the user meant it, or refused with a hint — and the
password is never in a message, a ``str()`` or a ``repr()``.

URLs are built from parts (a password of any characters, written raw as people do, or
percent-encoded as they should), so the test knows what each part was meant to be: a URL
that libpq would read with another host, port or database must be refused, not accepted.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from hypothesis import example, given
from hypothesis import strategies as st

from slipway.database.dsn import Dsn
from slipway.errors import UsageError
from tests.budget import bounded

# a password long enough to be told apart from the URL's other parts
password_chars = st.characters(codec="utf-8", exclude_characters="\x00")
passwords = st.text(password_chars, min_size=6, max_size=20).filter(lambda p: p.strip() == p)
users = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
hosts = st.sampled_from(["127.0.0.1", "db.internal", "[::1]", "localhost"])
# a port of any text that stays in the host part ('/', '?' start another part, ',' a host)
port_text = st.text(st.characters(exclude_characters="/?#@[],\x00"), max_size=6)
ports = st.sampled_from(["", ":5432", ":6543"]) | port_text.map(lambda p: f":{p}")
dbnames = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


def never_shows(password: str, *texts: str) -> None:
    for text in texts:
        assert password not in text and quote(password, safe="") not in text, text


@bounded(150)
@given(user=users, password=passwords, host=hosts, port=ports, db=dbnames, encode=st.booleans())
@example(user="app", password="Pa/ss1", host="127.0.0.1", port=":5", db="appdb", encode=False)
@example(user="app", password="Pa@ss1", host="127.0.0.1", port="", db="appdb", encode=False)
@example(user="app", password="Pa%41ss", host="127.0.0.1", port="", db="appdb", encode=False)
@example(user="app", password="Pa%zzss", host="127.0.0.1", port="", db="appdb", encode=False)
def test_a_url_is_read_as_meant_or_refused(
    user: str, password: str, host: str, port: str, db: str, encode: bool
) -> None:
    secret = quote(password, safe="") if encode else password
    url = f"postgresql://{user}:{secret}@{host}{port}/{db}"
    try:
        dsn = Dsn.parse(url, source="$DATABASE_URL")
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.hint
        assert "$DATABASE_URL" in str(exc)
        never_shows(password, str(exc))
        return
    assert dsn.params.get("user") == user
    assert dsn.params.get("host") == host.strip("[]")
    assert dsn.params.get("port", "") == port.removeprefix(":")
    assert dsn.dbname == db
    assert dsn.password == unquote(secret)  # a raw '%41' is an 'A', as URLs have it
    never_shows(password, str(dsn), repr(dsn), str(dsn.params))


@bounded(150)
@given(text=st.text(max_size=80) | st.builds("postgresql://{}".format, st.text(max_size=60)))
def test_any_text_parses_or_is_refused_with_a_hint(text: str) -> None:
    try:
        Dsn.parse(text)
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.hint
