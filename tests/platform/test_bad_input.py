"""Bad input to the lineage fingerprints fails at the boundary, naming the parameter (issue: input validation)."""
import pytest

from dmls.platform import params_fingerprint


@pytest.mark.parametrize("params, message", [
    ({1: 2}, r"params keys must be strings, got int 1"),
    ({True: 2}, r"params keys must be strings, got bool True"),
    ({None: 2}, r"params keys must be strings, got NoneType None"),
    ({"model": {7: "trees"}}, r"params\['model'\] keys must be strings, got int 7"),
    ({"grid": [{"depth": 3}, {0.5: "lr"}]}, r"params\['grid'\]\[1\] keys must be strings"),
])
def test_params_with_non_string_keys_are_refused(params, message):
    """JSON writes 1 and "1" alike, so such configurations would share a fingerprint with another."""
    with pytest.raises(TypeError, match=message):
        params_fingerprint(params)


def test_string_keys_at_every_level_still_fingerprint():
    a = params_fingerprint({"model": {"depth": 3}, "grid": [{"lr": 0.1}], "seed": 917})
    assert a == params_fingerprint({"seed": 917, "grid": [{"lr": 0.1}], "model": {"depth": 3}})
