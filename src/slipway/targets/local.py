"""The local target: instances as programs of the environment's own supervisord.

Slot ``web-1_a`` is the program ``inst-web-1_a``. What it runs (version and
port) is written to ``programs/inst-web-1_a.json`` before the program is
(re)defined, so ``instances()`` can say which release each process belongs to
even after the runner that started it died.
"""

from __future__ import annotations

import json
from pathlib import Path

from slipway.clock import Clock, SystemClock
from slipway.errors import PermanentError, SlipwayError
from slipway.supervisord.local import Supervisor
from slipway.targets.base import InstanceSpec, InstanceState

RUNNING_STATES = ("RUNNING",)
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
        try:
            data = json.loads(self._sidecar(slot).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def start(self, spec: InstanceSpec) -> None:
        program = self._program(spec.slot)
        meta = {"version": spec.version, "port": spec.port, "release_dir": str(spec.release_dir)}
        info = self._sv.info(program)
        if info is not None and info["statename"] == "RUNNING" and self._meta(spec.slot) == meta:
            return
        env = {
            **spec.env,
            "PORT": str(spec.port),
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_SLOT": spec.slot,
        }
        self._sv.ensure_running()
        sidecar = self._sidecar(spec.slot)
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        before = sidecar.read_text() if sidecar.exists() else None
        sidecar.write_text(json.dumps(meta))
        try:
            self._sv.put_program(
                program,
                command=spec.command,
                directory=spec.release_dir,
                env=env,
                stop_timeout_s=spec.stop_timeout_s,
            )
        except SlipwayError:  # refused: what runs in the slot (if anything) is unchanged
            if before is None:
                sidecar.unlink(missing_ok=True)
            else:
                sidecar.write_text(before)
            raise
        try:
            self._sv.start(program)
        except Exception as exc:
            raise PermanentError(
                f"{spec.slot}: {spec.version} did not start ({exc}); its log ends with:\n"
                f"{self._sv.log_tail(program)}"
            ) from exc
        info = self._sv.info(program)
        if info is None or info["statename"] != "RUNNING":
            state = info["statename"] if info else "absent"
            raise PermanentError(
                f"{spec.slot}: {spec.version} is {state} right after its start; its log ends "
                f"with:\n{self._sv.log_tail(program)}"
            )

    def stop(self, slot: str) -> None:
        program = self._program(slot)
        if self._sv.is_running():
            self._sv.remove_program(program)
        self._sidecar(slot).unlink(missing_ok=True)

    def down(self) -> None:
        self._sv.shutdown()
