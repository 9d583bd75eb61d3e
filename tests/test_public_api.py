"""The public API is small and declared (STYLE.md rule 8)."""

import slipway


def test_everything_exported_exists_and_nothing_else_is_promised() -> None:
    for name in slipway.__all__:
        assert hasattr(slipway, name), name
    assert sorted(slipway.__all__) == slipway.__all__
    assert {"Engine", "Store", "load_spec", "SlipwayError"} <= set(slipway.__all__)


def test_lazy_exports_cover_exactly_the_public_names() -> None:
    assert set(slipway._HOMES) == set(slipway.__all__)
