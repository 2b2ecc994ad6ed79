"""Chapter 6's checkers accept what a reader's numpy code gives them."""
import numpy as np

from dmls import exercises
import dmls.exercises.chapter06  # noqa: F401  (registers the exercises)


def test_a_numpy_boolean_is_checked_like_a_python_one():
    for python, numpy_value in [(False, np.False_), (True, np.True_)]:
        assert str(exercises.check("6.4", python)) == str(exercises.check("6.4", numpy_value))
    assert "Right" in str(exercises.check("6.4", np.False_))
    assert "could not be checked" in str(exercises.check("6.4", "no"))
