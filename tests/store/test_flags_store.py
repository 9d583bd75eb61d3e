"""Flags in the store: one write per change, the environment's revision one higher each
time, environments apart; and the flagd file rewritten after each write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slipway.flags import StoreFlags
from slipway.spec import load_spec
from slipway.store import Store
from tests.support.sample import write_sample_spec


def test_writes_take_the_environments_revision_up(tmp_path: Path) -> None:
    store = Store.for_state_dir(tmp_path)
    try:
        assert store.flags_revision("shop", "prod") == 0
        created = store.set_flag("shop", "prod", "a", by="alice")
        assert (created.weight, created.enabled, created.on_for, created.revision) == (
            0,
            True,
            (),
            1,
        )
        store.set_flag("shop", "prod", "b", by="alice", weight=20, on_for=["u2", "u1", "u1"])
        moved = store.set_flag("shop", "prod", "a", by="bob", weight=5, deployment_id="d1")
        assert (moved.weight, moved.revision, moved.updated_by, moved.deployment_id) == (
            5,
            3,
            "bob",
            "d1",
        )
        assert store.flag("shop", "prod", "b").on_for == ("u1", "u2")  # type: ignore[union-attr]
        assert store.flags_revision("shop", "prod") == 3
        other = store.set_flag("shop", "staging", "a", by="alice", enabled=False)
        assert other.revision == 1 and not other.enabled
        assert [f.key for f in store.flags("shop", "prod")] == ["a", "b"]
        with pytest.raises(ValueError, match="percentage"):
            store.set_flag("shop", "prod", "a", by="alice", weight=101)
    finally:
        store.close()


def test_the_flagd_file_follows_every_write(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, extra="    flags: {listen: 127.0.0.1:18999}\n")
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    try:
        flags = StoreFlags(env, store)
        flags.set_weight("new-checkout", 30, by="alice")
        document = json.loads((env.state_dir / "flags.json").read_text())
        entry = document["flags"]["new-checkout"]
        assert entry["targeting"] == {"fractional": [["on", 30], ["off", 70]]}
        assert document["metadata"] == {"flagSetId": "shop/test", "version": "1"}
        flags.kill("new-checkout", by="alice")
        document = json.loads((env.state_dir / "flags.json").read_text())
        assert document["flags"]["new-checkout"]["state"] == "DISABLED"
        assert (env.state_dir / "flags.json").stat().st_mode & 0o777 == 0o640
    finally:
        store.close()
