"""Host patterns mean what they mean to Ansible users: union, &, !, wildcards, regexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import UsageError
from slipway.spec.patterns import limit_hosts, select_hosts

HOSTS = ["web1", "web2", "web3", "db1", "lb1"]
GROUPS = {
    "web": ["web1", "web2", "web3"],
    "db": ["db1"],
    "lb": ["lb1"],
    "canary": ["web3"],
    "prod": ["web1", "web2", "db1", "lb1"],
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", HOSTS),
        ("*", HOSTS),
        ("web", ["web1", "web2", "web3"]),
        ("web1", ["web1"]),
        ("web1,db1", ["web1", "db1"]),
        ("db1:web1", ["db1", "web1"]),  # the order terms found them in, as Ansible
        ("web:&prod", ["web1", "web2"]),
        ("web:!canary", ["web1", "web2"]),
        ("!canary:web", ["web1", "web2"]),  # exclusions apply last, wherever they are written
        ("&web", ["web1", "web2", "web3"]),  # only modifiers: start from all
        ("all:!web", ["db1", "lb1"]),
        ("web*", ["web1", "web2", "web3"]),
        ("?b1", ["db1", "lb1"]),
        ("~(web|db)1", ["web1", "db1"]),
        ("prod:&web:!web2", ["web1"]),
        (" web1 , web2 ", ["web1", "web2"]),
    ],
)
def test_patterns_select_like_ansible(pattern: str, expected: list[str]) -> None:
    assert select_hosts(pattern, hosts=HOSTS, groups=GROUPS) == expected


@pytest.mark.parametrize("pattern", ["nope", "web:&nope", "x*", "", "web:!", "~("])
def test_a_term_matching_nothing_is_a_usage_error(pattern: str) -> None:
    with pytest.raises(UsageError):
        select_hosts(pattern, hosts=HOSTS, groups=GROUPS)


def test_the_error_names_known_groups_and_hosts() -> None:
    with pytest.raises(UsageError) as caught:
        select_hosts("wbe", hosts=HOSTS, groups=GROUPS)
    assert "'wbe' matches no host or group" in str(caught.value)
    assert "web" in (caught.value.hint or "")


GROUPS_ALL = {"all": HOSTS, "ungrouped": [], **GROUPS}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("web[0]", ["web1"]),
        ("web[-1]", ["web3"]),
        ("web[0:1]", ["web1", "web2"]),  # inclusive, as in Ansible
        ("web[1:]", ["web2", "web3"]),
        ("web[0]:db", ["web1", "db1"]),
        ("web,db:&prod", None),  # with a comma, 'db:&prod' is one term: it matches nothing
        ("web,db,&prod", ["web1", "web2", "db1"]),
        ("web1\n", ["web1"]),
    ],
)
def test_subscripts_and_splitting_follow_ansible(pattern: str, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(UsageError) as caught:
            select_hosts(pattern, hosts=HOSTS, groups=GROUPS_ALL)
        assert "split at commas only" in (caught.value.hint or "")
    else:
        assert select_hosts(pattern, hosts=HOSTS, groups=GROUPS_ALL) == expected


def test_a_subscript_past_the_end_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no host matches the subscripted pattern 'web\\[5\\]'"):
        select_hosts("web[5]", hosts=HOSTS, groups=GROUPS_ALL)


def test_limit_reads_a_retry_file_and_keeps_the_selection_order(tmp_path: Path) -> None:
    (tmp_path / "site.retry").write_text("db1\nweb2\n")
    chosen = ["web3", "web2", "db1"]
    assert limit_hosts("@site.retry", chosen, hosts=HOSTS, groups=GROUPS_ALL, cwd=tmp_path) == [
        "web2",
        "db1",
    ]
    with pytest.raises(UsageError, match="no file"):
        limit_hosts("@nope.retry", chosen, hosts=HOSTS, groups=GROUPS_ALL, cwd=tmp_path)
    with pytest.raises(UsageError, match="not a file"):
        limit_hosts("@.", chosen, hosts=HOSTS, groups=GROUPS_ALL, cwd=tmp_path)
