"""The local target: instances as programs of the environment's own supervisord.

Slot ``web-1_a`` is the program ``inst-web-1_a``; process ``worker-1_a`` of a role without
traffic (``spec/roles.py``) is the program ``role-worker-1_a``. What it runs (version and
port) is written to ``programs/inst-web-1_a.json`` before the program is
(re)defined, so ``instances()`` can say which release each process belongs to
even after the runner that started it died.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from slipway.clock import Clock, SystemClock
from slipway.errors import PermanentError, SlipwayError
from slipway.supervisord.local import Supervisor
from slipway.targets.base import (
    CommandRun,
    InstanceSpec,
    InstanceState,
    ProcessState,
    RoleProcess,
)

RUNNING_STATES = ("RUNNING",)
ROLE_PREFIX = "role-"  # a role's process `worker-1_a` is the program `role-worker-1_a`
START_TIMEOUT_S = 30.0


class LocalTarget:
    def __init__(
        self,
        name: str,
        supervisor: Supervisor,
        *,
        program_prefix: str = "inst-",
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._sv = supervisor
        self._prefix = program_prefix
        self._clock = clock or SystemClock()

    def _program(self, slot: str) -> str:
        return f"{self._prefix}{slot}"

    def _sidecar(self, slot: str) -> Path:
        return self._sv.run_dir / "programs" / f"{self._program(slot)}.json"

    def ensure_up(self) -> None:
        self._sv.ensure_running()

    def instances(self) -> list[InstanceState]:
        result = []
        for info in self._sv.all_info():
            name = str(info["name"])
            if not name.startswith(self._prefix):
                continue
            slot = name.removeprefix(self._prefix)
            meta = self._meta(slot)
            state = str(info["statename"])
            result.append(
                InstanceState(
                    slot=slot,
                    port=int(str(meta.get("port", 0))),
                    version=str(meta.get("version", "?")),
                    running=state in RUNNING_STATES,
                    state=state,
                    pid=int(info["pid"]) or None if state in RUNNING_STATES else None,
                )
            )
        return sorted(result, key=lambda i: i.slot)

    def _meta(self, slot: str) -> dict[str, object]:
        return _read(self._sidecar(slot))

    def start(self, spec: InstanceSpec) -> None:
        meta: dict[str, object] = {
            "version": spec.version,
            "port": spec.port,
            "release_dir": str(spec.release_dir),
        }
        env = {
            **spec.env,
            "PORT": str(spec.port),
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_SLOT": spec.slot,
        }
        self._run(
            self._program(spec.slot),
            self._sidecar(spec.slot),
            meta,
            _Launch(spec.slot, spec.version, spec.command, env, spec.release_dir),
            stop_timeout_s=spec.stop_timeout_s,
        )

    def _run(
        self, program: str, sidecar: Path, meta: dict[str, object], launch: _Launch, *,
        stop_timeout_s: float,
    ) -> None:  # fmt: skip
        """Define ``program`` (its sidecar first, taken back if refused) and start it."""
        info = self._sv.info(program)
        if info is not None and info["statename"] == "RUNNING" and _read(sidecar) == meta:
            return
        self._sv.ensure_running()
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        before = sidecar.read_text() if sidecar.exists() else None
        sidecar.write_text(json.dumps(meta))
        try:
            self._sv.put_program(
                program,
                command=launch.command,
                directory=launch.directory,
                env=launch.env,
                stop_timeout_s=stop_timeout_s,
            )
        except SlipwayError:  # refused: what runs there (if anything) is unchanged
            if before is None:
                sidecar.unlink(missing_ok=True)
            else:
                sidecar.write_text(before)
            raise
        try:
            self._sv.start(program)
        except Exception as exc:
            raise PermanentError(
                f"{launch.name}: {launch.version} did not start ({exc}); its log ends with:\n"
                f"{self._sv.log_tail(program)}"
            ) from exc
        info = self._sv.info(program)
        if info is None or info["statename"] != "RUNNING":
            state = info["statename"] if info else "absent"
            raise PermanentError(
                f"{launch.name}: {launch.version} is {state} right after its start; its log "
                f"ends with:\n{self._sv.log_tail(program)}"
            )

    def stop(self, slot: str) -> None:
        program = self._program(slot)
        if self._sv.is_running():
            self._sv.remove_program(program)
        self._sidecar(slot).unlink(missing_ok=True)

    def down(self) -> None:
        self._sv.shutdown()

    # processes of roles without traffic (RoleTarget)

    def _role_program(self, name: str) -> str:
        return f"{ROLE_PREFIX}{name}"

    def _role_sidecar(self, name: str) -> Path:
        return self._sv.run_dir / "programs" / f"{self._role_program(name)}.json"

    def processes(self) -> list[ProcessState]:
        result = []
        for info in self._sv.all_info():
            program = str(info["name"])
            if not program.startswith(ROLE_PREFIX):
                continue
            name = program.removeprefix(ROLE_PREFIX)
            meta = _read(self._role_sidecar(name))
            state = str(info["statename"])
            running = state in RUNNING_STATES
            result.append(
                ProcessState(
                    name=name,
                    role=str(meta.get("role", name.split("-")[0])),
                    version=str(meta.get("version", "?")),
                    running=running,
                    state=state,
                    pid=int(info["pid"]) or None if running else None,
                )
            )
        return sorted(result, key=lambda p: p.name)

    def start_process(self, spec: RoleProcess) -> None:
        meta: dict[str, object] = {
            "version": spec.version,
            "role": spec.role,
            "release_dir": str(spec.release_dir),
        }
        env = {
            **spec.env,
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_ROLE": spec.role,
            "SLIPWAY_PROCESS": spec.name,
        }
        self._run(
            self._role_program(spec.name),
            self._role_sidecar(spec.name),
            meta,
            _Launch(spec.name, spec.version, spec.command, env, spec.release_dir),
            stop_timeout_s=spec.stop_timeout_s,
        )

    def stop_process(self, name: str) -> None:
        """supervisord's ``stopProcess`` waits for the process to exit (after its warm
        shutdown, or SIGKILL at ``stopwaitsecs``): when this returns, it is gone."""
        if self._sv.is_running():
            self._sv.remove_program(self._role_program(name))
        self._role_sidecar(name).unlink(missing_ok=True)

    def run_beside(
        self, name: str, argv: Sequence[str], *, directory: Path, env: Mapping[str, str],
        timeout_s: float,
    ) -> CommandRun:  # fmt: skip
        """Here: a child of the runner, its own session (killed whole on timeout)."""
        try:
            process = subprocess.Popen(
                list(argv), cwd=directory, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            return CommandRun(None, f"{argv[0]}: {exc}")
        try:
            out, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
            return CommandRun(None, f"timed out after {timeout_s:g}s: {_tail(out)}")
        return CommandRun(process.returncode, _tail(out))


@dataclass(frozen=True)
class _Launch:
    name: str  # slot or process, for messages
    version: str
    command: Sequence[str]
    env: Mapping[str, str]
    directory: Path


def _read(sidecar: Path) -> dict[str, object]:
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _tail(out: bytes, chars: int = 500) -> str:
    return out.decode(errors="replace").strip()[-chars:]
