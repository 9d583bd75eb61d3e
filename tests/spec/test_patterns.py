"""Host patterns mean what they mean to Ansible users: union, &, !, wildcards, regexes."""

from __future__ import annotations

import pytest

from slipway.errors import UsageError
from slipway.spec.patterns import select_hosts

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
