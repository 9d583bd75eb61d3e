"""Reading ``slipway.yaml`` with line numbers kept, and turning mistakes into ``SpecError``.

ruamel.yaml's round-trip loader remembers where each key and value was (reading the
text safely is ``reader.py``'s part). When
pydantic rejects a value, its error ``loc`` (a path of keys and indexes) is
walked through the loaded document to find that place, so every error reads
``slipway.yaml:12:5: environments.production.instances.base_port: …`` with a
hint — never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from slipway.errors import Location, SpecError, UsageError
from slipway.redact import remember_environ
from slipway.spec.environment import Environment, EnvironmentSpec, Spec
from slipway.spec.fleet import Fleet, SshTargetSpec, resolve_fleet
from slipway.spec.invalid import Invalid
from slipway.spec.reader import read_document
from slipway.spec.sections import resolve_sections

DEFAULT_FILE = "slipway.yaml"


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec and where it came from."""

    spec: Spec
    path: Path
    document: Any

    @property
    def root(self) -> Path:
        return self.path.resolve().parent

    def environment(self, name: str | None, *, limit: str | None = None) -> Environment:
        """The named environment with defaults applied; the only one if ``name`` is None.

        ``limit`` (an Ansible host pattern) narrows a fleet to some of its hosts.
        """
        envs = self.spec.environments
        if name is None:
            if len(envs) == 1:
                name = next(iter(envs))
            else:
                raise UsageError(
                    f"{self.path.name} has {len(envs)} environments: {', '.join(envs)}",
                    hint="choose one with --env NAME",
                )
        if name not in envs:
            raise UsageError(
                f"no environment {name!r} in {self.path.name}",
                hint=f"known environments: {', '.join(envs)}",
            )
        env, spec = envs[name], self.spec
        resolved = Environment(
            app=spec.app,
            name=name,
            root=self.root,
            state_dir=(self.root / spec.state_dir / name).resolve(),
            release=spec.release,
            process=env.process or spec.process,
            health=env.health or spec.health,
            roles={**spec.roles, **env.roles},
            strategy=env.strategy or spec.strategy,
            on_failure=env.on_failure or spec.on_failure,
            on_interrupt=env.on_interrupt or spec.on_interrupt,
            router=env.router,
            instances=env.instances,
            targets=list(env.targets),
            fleet=self._fleet(name, env, limit),
            flags=env.flags,
            store=spec.store,
            **resolve_sections(spec, env),
        )
        # its secrets are known from here on, so that nothing recorded or printed shows them
        remember_environ(resolved.secret_variables())
        return resolved

    def _fleet(self, name: str, env: EnvironmentSpec, limit: str | None) -> Fleet | None:
        target = env.targets[0]
        if not isinstance(target, SshTargetSpec):
            if limit is not None:
                raise UsageError(
                    f"--limit selects hosts of a fleet; environment {name!r} runs locally",
                    hint="drop --limit: a local environment has no hosts to choose from",
                )
            return None

        def locate(*loc: str | int) -> Location | None:
            return self.locate("environments", name, "targets", 0, *loc)

        fleet = resolve_fleet(target, root=self.root, locate=locate)
        router_host = env.router.host
        if router_host is not None and router_host not in fleet.hosts:
            raise SpecError(
                f"router host {router_host!r} is not a host of the fleet",
                location=self.locate("environments", name, "router", "host"),
                field="router.host",
                hint=f"hosts: {', '.join(fleet.hosts)}",
            )
        return fleet.limited(limit) if limit is not None else fleet

    def locate(self, *loc: str | int) -> Location | None:
        """Where the value at ``loc`` is in the file (for errors found after loading)."""
        return _locate(self.path, self.document, loc, error_type="")


def load_spec(path: str | Path = DEFAULT_FILE) -> LoadedSpec:
    """Read, parse and validate a spec file; raise ``SpecError`` for any mistake in it."""
    file = Path(path)
    document = read_document(file)
    if not isinstance(document, CommentedMap):
        raise SpecError(
            "the file must be a YAML mapping (app:, release:, environments: …)",
            location=Location(str(file), 1, 1),
            hint="start from `slipway init`",
        )
    try:
        spec = Spec.model_validate(_plain(document))
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key is both "unknown" and "missing": the unknown one says more
        errors.sort(key=lambda e: e["type"] != "extra_forbidden")
        raise _spec_error(file, document, errors[0]) from None
    loaded = LoadedSpec(spec=spec, path=file, document=document)
    _check_paths(loaded)
    return loaded


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _check_paths(loaded: LoadedSpec) -> None:
    """A release ``path`` must exist up to its ``{version}`` part: catch a typo before a deploy."""
    path = loaded.spec.release.path
    if path is None:
        return
    fixed = path.split("{version}")[0]
    base = loaded.root / fixed
    probe = base if "{version}" not in path else (base if fixed.endswith("/") else base.parent)
    if not probe.exists():
        raise SpecError(
            f"release directory {str(probe)!r} does not exist",
            location=loaded.locate("release", "path"),
            field="release.path",
            hint="paths are relative to the spec file; `{version}` is replaced at deploy time",
        )


def _spec_error(file: Path, document: Any, error: ErrorDetails) -> SpecError:
    loc = _clean_loc(document, error["loc"])
    where = _locate(file, document, loc, error_type=error["type"])
    field = ".".join(str(p) for p in loc) or None
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        message = f"{error['input']!r} is not allowed here"
    given = error.get("ctx", {}).get("error")
    hint = given.hint if isinstance(given, Invalid) else _hint(error, document, loc)
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
    hint = (
        hint or "`slipway schema` shows what each field accepts; `slipway init` writes an example"
    )
    return SpecError(message, location=where, field=field, hint=hint)


def _clean_loc(document: Any, loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """Drop the parts pydantic adds for unions (a discriminator value, a member type name):
    a discriminator is dropped once per mapping, where it is that mapping's `type:`."""
    kept: list[str | int] = []
    node = document
    dropped_at: Any = None
    for i, part in enumerate(loc):
        after = loc[i + 1] if i + 1 < len(loc) else None
        if (
            isinstance(node, CommentedMap)
            and node is not dropped_at
            and node.get("type") == part
            and after is not None
            and after in node
        ):  # the tag of a tagged union that is also one of its keys (`type: command`)
            dropped_at = node
            continue
        if (isinstance(node, CommentedMap) and part in node) or (
            isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        elif isinstance(part, str) and node is not dropped_at and _is_union_part(node, part):
            dropped_at = node
            continue
        else:
            node = None
        kept.append(part)
    return tuple(kept)


def _is_union_part(node: Any, part: str) -> bool:
    if isinstance(node, CommentedMap) and node.get("type") == part:
        return True  # the discriminator value of a tagged union
    return part in ("int", "str") or "[" in part or part.startswith("function-")


def _locate(file: Path, document: Any, loc: Sequence[str | int], *, error_type: str) -> Location:
    """Walk ``loc`` through the document; stop at the deepest node that exists."""
    line, col = 0, 0
    node = document
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            use_key = error_type == "extra_forbidden" and part == loc[-1]
            line, col = node.lc.key(part) if use_key else node.lc.value(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
    return Location(str(file), line + 1, col + 1)


def _hint(error: ErrorDetails, document: Any, loc: Sequence[str | int]) -> str | None:
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        known = _known_keys(loc[:-1])
        if loc[-1] in known:
            return f"`{loc[-1]}` does not apply to this `type:`; remove it or change the type"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            return f"did you mean {close[0]!r}?"
        return f"known keys here: {', '.join(sorted(known))}" if known else "remove this key"
    if kind == "missing":
        return f"add `{loc[-1]}:` here" if loc else None
    if kind in ("greater_than_equal", "less_than_equal") and loc and "port" in str(loc[-1]):
        return "ports go from 1 to 65535"
    if kind == "string_pattern_mismatch":
        if (loc and loc[-1] in ("app",)) or (len(loc) > 1 and loc[-2] in ("names", "environments")):
            return "use lowercase letters, digits and '-', starting with a letter"
        return "this value has characters that are not allowed here"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "use a whole number"
    if kind in ("float_parsing", "float_type"):
        return "use a number of seconds, like 2 or 0.5"
    if kind in ("literal_error", "union_tag_invalid"):
        ctx = error.get("ctx", {})
        allowed = ctx.get("expected") or ctx.get("expected_tags")
        return f"allowed: {allowed}" if allowed else None
    return None


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    """Field names of the model at ``loc``, for did-you-mean hints.

    Dict keys (environment names) and list indexes do not change the model:
    ``_submodel`` looks through ``dict[...]`` and ``list[...]`` by itself.
    """
    annotation: Any = Spec
    for part in loc:
        model = _submodel(annotation)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
    model = _submodel(annotation)
    return list(model.model_fields) if model else []


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None
