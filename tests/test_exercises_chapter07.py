"""Chapter 7's checkers: their truths agree with arithmetic done by hand, and numpy answers count."""
import numpy as np

from dmls import exercises
from dmls.exercises import chapter07


def test_int8_bytes_are_one_byte_per_weight_and_four_per_bias():
    weights, biases = 110 * 32 + 32 * 2, 32 + 2
    assert chapter07._int8_tensor_bytes() == weights + 4 * biases
    assert exercises.check("7.3", np.int64(weights + 4 * biases)).correct is True


def test_fused_graph_keeps_one_node_per_layer_and_the_softmax():
    # three hidden Gemm+Relu pairs fused, the output Gemm, the Softmax
    assert chapter07._fused_node_count() == 5
    assert exercises.check("7.4", np.int64(5)).correct is True
    assert "could not be checked" in str(exercises.check("7.4", 5.0))


def test_peak_and_share_are_plausible_and_accepted_near_the_truth():
    peak = chapter07._peak_predictions_per_second()
    assert 50 < peak < 2_000
    assert exercises.check("7.1", peak * 1.005).correct is True
    assert exercises.check("7.1", peak * 1.02).correct is False
    share = chapter07._share_without_a_list()
    assert 0 < share < 0.2
    assert exercises.check("7.2", share + 0.004).correct is True
    assert exercises.check("7.2", share + 0.006).correct is False
