"""Feature flags: Slipway as an environment's flag source.

The state of each flag (its share of users, whether it is killed, who always gets it) is in
the store, written through a ``FlagBackend`` (``backend``). ``evaluation`` decides a variant
for a targeting key — by hash bucket, exactly as flagd's ``fractional`` does; ``ofrep``
answers the OpenFeature Remote Evaluation Protocol from a ``FlagSource`` snapshot (``source``)
and ``server`` serves it over HTTP (Starlette on uvicorn: ``slipway flags serve``); ``flagd``
writes the same state as a flagd flag file.
"""

from slipway.flags.backend import FLAG_BACKENDS, FlagBackend, StoreFlags, flag_backend
from slipway.flags.evaluation import OFF, ON, Evaluation, EvaluationError, Flag, bucket, evaluate

__all__ = [
    "FLAG_BACKENDS",
    "OFF",
    "ON",
    "Evaluation",
    "EvaluationError",
    "Flag",
    "FlagBackend",
    "StoreFlags",
    "bucket",
    "evaluate",
    "flag_backend",
]
