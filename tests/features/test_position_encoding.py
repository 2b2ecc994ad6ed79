"""Chapter 5's sinusoidal position encoding: the Transformer's geometric wavelengths tell positions
apart and make similarity fall with distance; the dyadic ones (period/2**k, for cyclic numbers) repeat
when the positions reach their longest wavelength."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.utils.estimator_checks import parametrize_with_checks

from dmls.features import FeaturePipeline, SinusoidalEncoding
from dmls.world import World


def codes(encoder, positions):
    X = np.asarray(positions, dtype=float)[:, None]
    return encoder.fit(X).transform(X)


def similarity_to_first(out):
    """Dot product of each code with the first one, per sine-cosine pair (1 for the same code)."""
    return out @ out[0] / (out.shape[1] / 2)


TRANSFORMER = dict(n_frequencies=32, period=2 * np.pi * 10_000, wavelengths="geometric")


@parametrize_with_checks([SinusoidalEncoding(wavelengths="geometric", period=50.0)])
def test_geometric_encoding_is_a_scikit_learn_transformer(estimator, check):
    check(estimator)


def test_geometric_wavelengths_are_evenly_spaced_on_a_log_scale():
    enc = SinusoidalEncoding(n_frequencies=5, period=160.0, min_wavelength=10.0, wavelengths="geometric").fit([[0.0]])
    np.testing.assert_allclose(enc.wavelengths_, [160, 80, 40, 20, 10])
    harmonic = SinusoidalEncoding(n_frequencies=4, period=40.0).fit([[0.0]])
    np.testing.assert_allclose(harmonic.wavelengths_, [40, 20, 10, 5])
    one = SinusoidalEncoding(n_frequencies=1, period=30.0, wavelengths="geometric").fit([[0.0]])
    np.testing.assert_allclose(one.wavelengths_, [30.0])


def test_the_transformer_scheme_is_reproduced():
    # PE(pos, 2i) = sin(pos / 10000^(2i/d)): with d = 2n, wavelengths 2 pi 10000^(i/n), i < n.
    n = 8
    enc = SinusoidalEncoding(n_frequencies=n, wavelengths="geometric", min_wavelength=2 * np.pi,
                             period=2 * np.pi * 10_000 ** ((n - 1) / n))
    pos = np.arange(50.0)
    out = codes(enc, pos)
    angles = pos[:, None] / 10_000 ** (np.arange(n)[::-1] / n)[None, :]  # longest wavelength first
    np.testing.assert_allclose(out, np.concatenate([np.sin(angles), np.cos(angles)], axis=1), atol=1e-9)


@pytest.mark.parametrize("params, positions", [
    (TRANSFORMER, np.arange(0, 2_000)),
    (dict(n_frequencies=4, period=160.0, min_wavelength=8.0, wavelengths="geometric"), np.arange(1, 41)),
    (dict(n_frequencies=3, period=40.0, wavelengths="geometric"), np.arange(1, 11)),  # the pipeline's slots
])
def test_distinct_positions_get_distinct_codes(params, positions):
    out = codes(SinusoidalEncoding(**params), positions)
    gaps = np.linalg.norm(out[:, None, :] - out[None, :, :], axis=2)
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() > 0.05


def test_dyadic_codes_repeat_and_look_alike_half_a_period_apart():
    """The bug of issue 10: with wavelengths 40, 20, 10, 5, positions 20 apart agree on three of four."""
    out = codes(SinusoidalEncoding(n_frequencies=4, period=40.0), np.arange(1, 42))
    sim = similarity_to_first(out)
    np.testing.assert_allclose(out[40], out[0], atol=1e-12)  # positions 1 and 41: the same code
    assert sim[20] > sim[10]  # 20 apart looks more alike than 10 apart


@pytest.mark.parametrize("params, distances", [
    (TRANSFORMER, np.arange(0, 1_000)),
    (dict(n_frequencies=4, period=160.0, min_wavelength=8.0, wavelengths="geometric"), np.arange(0, 40)),
])
def test_the_dot_product_falls_with_distance(params, distances):
    sim = similarity_to_first(codes(SinusoidalEncoding(**params), distances))
    assert sim[0] == pytest.approx(1.0)
    assert sim[1] > sim[2:].max()  # no position is as alike as the next one
    assert spearmanr(distances[1:], sim[1:]).correlation < -0.6
    # and on average over bands of distance, monotonically
    bands = np.array_split(sim[1:], 4)
    means = [b.mean() for b in bands]
    assert all(a > b for a, b in zip(means, means[1:]))


def test_geometric_falls_where_dyadic_of_a_shorter_longest_wavelength_does_not():
    distances = np.arange(0, 40)
    geometric = similarity_to_first(codes(SinusoidalEncoding(n_frequencies=4, period=160.0, min_wavelength=8.0,
                                                             wavelengths="geometric"), distances))
    harmonic = similarity_to_first(codes(SinusoidalEncoding(n_frequencies=4, period=40.0), distances))
    assert spearmanr(distances[1:], geometric[1:]).correlation < spearmanr(distances[1:], harmonic[1:]).correlation


@given(x=st.floats(-100, 100), step=st.floats(-0.5, 0.5), n_frequencies=st.integers(1, 6))
def test_nearby_positions_get_nearby_codes_geometric(x, step, n_frequencies):
    enc = SinusoidalEncoding(n_frequencies=n_frequencies, period=50.0, wavelengths="geometric").fit([[x]])
    a, b = enc.transform([[x], [x + step]])
    speeds = 2 * np.pi / enc.wavelengths_
    assert np.linalg.norm(a - b) <= abs(step) * np.sqrt((speeds ** 2).sum()) + 1e-9


@pytest.mark.parametrize("params, message", [
    (dict(wavelengths="log"), "wavelengths"), (dict(wavelengths=None), "wavelengths"),
    (dict(wavelengths="geometric", min_wavelength=0), "min_wavelength"),
    (dict(wavelengths="geometric", min_wavelength=-1.0), "min_wavelength"),
    (dict(wavelengths="geometric", min_wavelength=np.nan), "min_wavelength"),
    (dict(wavelengths="geometric", min_wavelength="2"), "min_wavelength"),
    (dict(wavelengths="geometric", period=5.0, min_wavelength=6.0), "min_wavelength"),
])
def test_bad_wavelength_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        SinusoidalEncoding(**params).fit([[1.0]])


def test_the_pipeline_position_encoding_is_geometric():
    train = World(seed=1, n_users=300, n_items=100, n_sellers=10).run(days=1).labeled_impressions()
    pipe = FeaturePipeline(position="sinusoidal", history=False).fit(train)
    enc = pipe.columns_.named_transformers_["position"]
    assert enc.wavelengths == "geometric"
    slots = codes(SinusoidalEncoding(**enc.get_params()), np.arange(1, 11))
    gaps = np.linalg.norm(slots[:, None] - slots[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() > 0.05


def test_harmonic_is_an_older_name_of_dyadic():
    positions = np.arange(1, 42)
    old = codes(SinusoidalEncoding(n_frequencies=4, period=40.0, wavelengths="harmonic"), positions)
    new = codes(SinusoidalEncoding(n_frequencies=4, period=40.0, wavelengths="dyadic"), positions)
    np.testing.assert_array_equal(old, new)
    assert SinusoidalEncoding().wavelengths == "dyadic"


def test_dyadic_with_a_long_enough_longest_wavelength_tells_positions_apart():
    """The collision comes from the longest wavelength, not from the spacing: with 160 > 41, the
    dyadic code gives distinct codes whose similarity falls with distance too."""
    positions = np.arange(1, 42)
    out = codes(SinusoidalEncoding(n_frequencies=4, period=160.0, wavelengths="dyadic"), positions)
    gaps = np.linalg.norm(out[:, None] - out[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() > 0.05
    sim = similarity_to_first(out)
    assert spearmanr(np.arange(41)[1:], sim[1:]).correlation < -0.5
