"""Host patterns with Ansible's meaning, for ``--limit`` and a fleet's ``hosts:`` selection.

A pattern is terms separated by ``,`` or ``:``. A term is a host name, a group
name, ``all`` (or ``*``), a shell wildcard (``web*``, ``db-?``) matched
against host and group names, or ``~regex``. ``&term`` keeps only hosts also
in ``term``; ``!term`` removes them. As in Ansible, plain terms are united
first, then intersections apply, then exclusions, whatever their order in the
pattern; a pattern of only ``&``/``!`` terms starts from all hosts. The
result keeps inventory order.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Mapping, Sequence

from slipway.errors import UsageError


def select_hosts(
    pattern: str, *, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    """The hosts ``pattern`` selects, in ``hosts``' order; a term matching nothing is an error."""
    terms = [t.strip() for t in re.split(r"[,:]", pattern) if t.strip()]
    if not terms:
        raise UsageError("empty host pattern", hint="give host or group names, like web:&prod")
    plain = [t for t in terms if t[0] not in "&!"]
    inter = [t[1:] for t in terms if t[0] == "&"]
    exclude = [t[1:] for t in terms if t[0] == "!"]
    chosen: set[str] = set()
    if plain:
        for term in plain:
            chosen |= _matches(term, hosts, groups)
    else:
        chosen = set(hosts)
    for term in inter:
        chosen &= _matches(term, hosts, groups)
    for term in exclude:
        chosen -= _matches(term, hosts, groups)
    return [h for h in hosts if h in chosen]


def _matches(term: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]) -> set[str]:
    if not term:
        raise UsageError(
            "a host pattern has an empty term after & or !",
            hint="write the host or group name right after it, like web:&prod:!web3",
        )
    if term in ("all", "*"):
        return set(hosts)
    if term in groups:
        return set(groups[term])
    if term in hosts:
        return {term}
    if term.startswith("~"):
        try:
            with warnings.catch_warnings():  # "possible nested set": a warning, not an answer
                warnings.simplefilter("ignore", FutureWarning)
                regex = re.compile(term[1:])
        except (re.error, OverflowError, RecursionError) as exc:
            raise UsageError(
                f"invalid regular expression in host pattern {term!r}: {exc}",
                hint="after ~ comes a Python regular expression matched at the start of "
                "host and group names, like ~web0[1-3]",
            ) from None
        found = {h for h in hosts if regex.match(h)}
        for group, members in groups.items():
            if regex.match(group):
                found |= set(members)
        return _nonempty(term, found, hosts, groups)
    if any(c in term for c in "*?["):
        found = set(fnmatch.filter(hosts, term))
        for group in fnmatch.filter(list(groups), term):
            found |= set(groups[group])
        return _nonempty(term, found, hosts, groups)
    return _nonempty(term, set(), hosts, groups)


def _nonempty(
    term: str, found: set[str], hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> set[str]:
    if found:
        return found
    known = ", ".join([*groups, *hosts][:20])
    raise UsageError(
        f"host pattern term {term!r} matches no host or group",
        hint=f"known groups and hosts: {known}",
    )
