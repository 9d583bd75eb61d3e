"""What a gate asks the people who may answer it, and the commands that answer it: the text
of the warning event and of what the observers (notifications) are told while it waits."""

from __future__ import annotations

from slipway.steps import Gate
from slipway.who import LABEL_NOTE


def question(params: Gate, dep: str) -> str:
    """What the gate asks, and of whom."""
    if params.gate == "confirm_migrate_back":
        ask = (
            f"migrate the database back ({params.backup})? the columns and tables the "
            f"migrations added go, every row stays: `slipway approve {dep}` migrates "
            f"back, `slipway reject {dep}` leaves it as it is"
        )
    elif params.gate == "confirm_restore":
        ask = (
            f"restore the database from {params.backup}? it loses everything "
            f"written since: `slipway approve {dep}` restores, "
            f"`slipway reject {dep}` keeps the data"
        )
    elif params.gate == "go_no_go":
        ask = (
            f"Go/No-Go for {params.version}: `slipway approve {dep}` "
            f"(Go) or `slipway reject {dep}` (No-Go)"
        )
    else:
        ask = (
            f"waiting for a person: `slipway promote {dep}` to go on, "
            f"`slipway abort {dep}` to roll back"
        )
    if params.approvers:
        ask += f" — approvers: {', '.join(params.approvers)} ({LABEL_NOTE})"
    if params.quorum > 1:
        ask += f" — {params.quorum} different people must say Go"
    if params.distinct_from_deployer:
        ask += " — not the person who started it"
    return ask
