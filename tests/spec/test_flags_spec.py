"""The flag strategy and `flags:` in slipway.yaml: what loads, and mistakes pointed at."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec import load_spec
from slipway.spec.strategy import FlagSpec
from tests.spec.test_load import GOOD

FLAG = "strategy:\n  type: flag\n  flag: new-checkout\n  steps: [{set_weight: 5}]\n"
SERVER = "    flags: {listen: 127.0.0.1:18500}\n"


def write(directory: Path, strategy: str, flags: str = SERVER) -> Path:
    (directory / "releases").mkdir(exist_ok=True)
    path = directory / "slipway.yaml"
    text = GOOD.replace("strategy:\n  type: rolling\n  max_surge: 1\n", strategy)
    path.write_text(text + flags)
    return path


def test_a_flag_strategy_with_its_flag_server_loads(tmp_path: Path) -> None:
    env = load_spec(write(tmp_path, FLAG)).environment(None)
    assert isinstance(env.strategy, FlagSpec)
    assert env.strategy.flag == "new-checkout" and env.strategy.rollout.type == "rolling"
    assert env.flags is not None and str(env.flags.listen) == "127.0.0.1:18500"
    assert env.flags.file == "flags.json"


@pytest.mark.parametrize(
    ("strategy", "flags", "message"),
    [
        (FLAG, "", "the flag strategy needs the environment's flag server"),
        (
            FLAG.replace("new-checkout", "new checkout"),
            SERVER,
            "strategy.flag: 'new checkout' is not allowed",
        ),
        (FLAG.replace("[{set_weight: 5}]", "[{pause: {}}]"), SERVER, "at least one `set_weight`"),
        (FLAG, "    flags: {listen: 0.0.0.0:18500}\n", "set `token_env`"),
        (FLAG, "    flags: {listen: 127.0.0.1:18500, refresh_s: 0}\n", "greater than 0"),
    ],
    ids=["no-server", "key", "no-weight", "exposed", "refresh"],
)
def test_mistakes_are_refused_with_a_hint(
    tmp_path: Path, strategy: str, flags: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, strategy, flags))
    assert message in str(caught.value)


def test_a_token_lets_the_server_listen_beyond_loopback(tmp_path: Path) -> None:
    flags = "    flags: {listen: 0.0.0.0:18500, token_env: OFREP_TOKEN}\n"
    env = load_spec(write(tmp_path, FLAG, flags)).environment(None)
    assert env.secret_variables()["OFREP_TOKEN"] == "value"
