"""Host patterns with Ansible's meaning, for a fleet's ``select:`` and for ``--limit``.

The rules are ansible-core's ``InventoryManager`` (``inventory/manager.py``):

- **Splitting**: a pattern containing a comma is split at commas only
  (``web,db:&eu`` is the two terms ``web`` and ``db:&eu``); without a comma, a
  single host name, address or range stays whole, and anything else is split
  at ``:`` (outside brackets).
- **Terms**: ``all``; a group or host name; a shell wildcard (``web*``,
  ``db-?``) or ``~regex`` (matched from the start, like ``re.match``) against
  group names — and against host names when no group matched or the term is
  a wildcard. ``&term`` keeps only hosts also in ``term``; ``!term`` removes
  them. Plain terms are united first, then ``&``, then ``!``, whatever their
  order in the pattern; only ``&``/``!`` terms start from ``all``.
- **Subscripts** select among a term's hosts: ``web[0]``, ``web[-1]``,
  ``web[0:2]`` (inclusive: three hosts), ``web[1:]``.
- **Order**: the order in which the terms found the hosts (a group's hosts in
  Ansible's group order), as ``ansible --list-hosts`` prints them.
- ``--limit`` also takes ``@file`` (one pattern per line, like Ansible's
  ``.retry`` files); the limited hosts keep the order of the selection.

One deliberate difference: a term that matches nothing is an error here
(Ansible warns and ignores it), because a typo must not silently change which
hosts a deployment touches.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from slipway.errors import UsageError
from slipway.spec.inventory_hosts import parse_address

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_COLON_TERMS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")


def split_pattern(pattern: str) -> list[str]:
    """Ansible's ``split_host_pattern``: the terms of a pattern, whitespace stripped."""
    if "," in pattern:
        terms = pattern.split(",")
    else:
        try:
            parse_address(pattern, allow_ranges=True)
            terms = [pattern]
        except ValueError:
            terms = _COLON_TERMS.findall(pattern)
    return [t.strip() for t in terms if t.strip()]


def select_hosts(
    pattern: str, *, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    """The hosts ``pattern`` selects, in Ansible's order; a term matching nothing is an error.

    ``groups`` maps every group (``all`` and ``ungrouped`` included, in inventory
    order) to its hosts, its children's included, in Ansible's group order.
    """
    terms = split_pattern(pattern)
    if not terms:
        raise UsageError("empty host pattern", hint="give host or group names, like web:&prod")
    return _evaluate(terms, pattern, hosts, _with_all(hosts, groups))


def limit_hosts(
    pattern: str,
    chosen: Sequence[str],
    *,
    hosts: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    cwd: Path | None = None,
) -> list[str]:
    """``--limit pattern`` applied to ``chosen``: Ansible's ``subset``, ``@file`` included."""
    terms: list[str] = []
    for term in split_pattern(pattern):
        if term.startswith("@"):
            terms += _limit_file(term[1:], cwd or Path.cwd())
        else:
            terms.append(term)
    if not [t for t in terms if t]:
        raise UsageError(
            f"--limit {pattern!r} gives no host pattern",
            hint="name hosts or groups, like web1,web2 or web:&prod",
        )
    subset = set(_evaluate([t for t in terms if t], pattern, hosts, _with_all(hosts, groups)))
    return [h for h in chosen if h in subset]


def _with_all(
    hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> Mapping[str, Sequence[str]]:
    return groups if "all" in groups else {"all": list(hosts), **groups}


def _limit_file(name: str, cwd: Path) -> list[str]:
    path = Path(name).expanduser()
    path = path if path.is_absolute() else cwd / path
    if not path.exists():
        raise UsageError(f"--limit: no file {str(path)!r}", hint="@FILE names a file of hosts")
    if not path.is_file():
        raise UsageError(f"--limit: {str(path)!r} is not a file", hint="@FILE names a file")
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").split("\n")]
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"--limit: cannot read {path}: {exc}", hint="@FILE names a readable file of hosts"
        ) from None


def _evaluate(
    terms: list[str], pattern: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    regular = [t for t in terms if t[0] not in "&!"] or ["all"]
    ordered = regular + [t for t in terms if t[0] == "&"] + [t for t in terms if t[0] == "!"]
    known = set(hosts)
    found: list[str] = []
    for term in ordered:
        # a plain host name is that host, even where a group has that name (Ansible)
        that = [term] if term in known else _match_one(term, pattern, hosts, groups)
        if term[0] == "!":
            drop = set(that)
            found = [h for h in found if h not in drop]
        elif term[0] == "&":
            keep = set(that)
            found = [h for h in found if h in keep]
        else:
            have = set(found)
            found += [h for h in dict.fromkeys(that) if h not in have]
    return found


def _match_one(
    term: str, pattern: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    expression = term[1:] if term[0] in "&!" else term
    if not expression:
        raise UsageError(
            f"host pattern {pattern!r} has an empty term after & or !",
            hint="write the host or group name right after it, like web:&prod:!web3",
        )
    expression, subscript = _split_subscript(expression)
    matched = _enumerate(expression, pattern, hosts, groups)
    if subscript is None:
        return matched
    start, end = subscript
    try:
        if end:
            return matched[start : (len(matched) - 1 if end == -1 else end) + 1]
        return [matched[start]]
    except IndexError:
        raise UsageError(
            f"no host matches the subscripted pattern {term!r}",
            hint=f"{expression!r} has {len(matched)} hosts; subscripts count from 0",
        ) from None


def _split_subscript(term: str) -> tuple[str, tuple[int, int] | None]:
    if term[0] == "~":
        return term, None
    found = _SUBSCRIPT.fullmatch(term)
    if not found:
        return term, None
    base, index, start, _, end = found.groups()  # [x-y] still works in Ansible, as [x:y]
    try:
        if index:
            return base, (int(index), 0)
        return base, (int(start), int(end) if end else -1)
    except ValueError:
        raise UsageError(
            f"host pattern subscript {term!r} is too large",
            hint="a subscript counts the group's hosts from 0, like web[0] or web[0:2]",
        ) from None


def _enumerate(
    term: str, pattern: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    matcher = _matcher(term, pattern)
    results: list[str] = []
    # re.match, not fullmatch, on purpose: Ansible's ~regex matches from the start only, and
    # fnmatch.translate's expression already ends with \Z
    matching_groups = [g for g in groups if matcher.match(g)]
    for group in matching_groups:
        results += groups[group]
    if not matching_groups or term[0] == "~" or any(c in term for c in ".?*["):
        results += [h for h in hosts if matcher.match(h)]
    if not results and not matching_groups:  # an empty group is a match (Ansible)
        known = ", ".join([g for g in groups if g not in ("all", "ungrouped")][:15])
        hint = f"known groups: {known or 'none'}; known hosts: {', '.join(hosts[:8])}"
        if "," in pattern and ":" in term:
            hint = (
                f"a pattern with a ',' is split at commas only (as Ansible does), so {term!r} "
                "is one term: write web,db,&eu or web:db:&eu"
            )
        within = f" (in {pattern!r})" if term != pattern.strip() else ""
        raise UsageError(f"host pattern term {term!r}{within} matches no host or group", hint=hint)
    return list(dict.fromkeys(results))


def _matcher(term: str, pattern: str) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():  # "possible nested set": a warning, not an answer
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(term[1:] if term[0] == "~" else fnmatch.translate(term))
    except (re.error, OverflowError, RecursionError) as exc:
        raise UsageError(
            f"invalid host pattern {term!r} in {pattern!r}: {exc}",
            hint="after ~ comes a Python regular expression matched at the start of host and "
            "group names, like ~web0[1-3]",
        ) from None
