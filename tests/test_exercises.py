"""The exercise checkers: every registered exercise answers, rejects its known wrong answers, never crashes."""
import math

import pytest

from dmls import exercises

exercises._load()
ALL = sorted(exercises.REGISTRY.values(), key=lambda e: e.id)


def test_registry_is_loaded_and_ids_are_well_formed():
    exercises._load()
    for ex in exercises.REGISTRY.values():
        assert exercises.get(ex.id) is ex
        assert ex in exercises.for_chapter(ex.chapter)


@pytest.mark.parametrize("ex", ALL, ids=[e.id for e in ALL])
def test_each_checker_rejects_its_wrong_answers_and_survives_nonsense(ex):
    for wrong in ex.wrong_answers:
        verdict = exercises.check(ex.id, wrong)
        assert verdict.correct is False, f"exercise {ex.id} accepted the wrong answer {wrong!r}"
        assert ex.hint in verdict.message
    for nonsense in ("banana", float("nan"), -1e12, [], {"a": 1}, object()):
        assert exercises.check(ex.id, nonsense).correct is False
    assert exercises.check(ex.id, None).correct is None


def test_verdicts_read_well():
    v = exercises.Verdict("1.1", True, "fine.")
    assert str(v).startswith("Exercise 1.1 \u2014 Right") and bool(v)
    assert "Not yet" in str(exercises.Verdict("1.1", False, "no")) and not exercises.Verdict("1.1", False, "x")
    assert "No answer yet" in exercises.Verdict("1.1", None, "x")._repr_markdown_()


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(KeyError, match="no exercise '99.9'"):
        exercises.check("99.9", 1)


def test_registration_rules():
    with pytest.raises(ValueError, match="like '4.2'"):
        exercises.exercise("four", question="q", hint="h", wrong_answers=(1,))
    with pytest.raises(ValueError, match="wrong answer"):
        exercises.exercise("98.1", question="q", hint="h")
    with pytest.raises(ValueError, match="question and a hint"):
        exercises.exercise("98.1", question="", hint="h", wrong_answers=(1,))


def test_check_solution_raises_on_a_wrong_solution(monkeypatch):
    monkeypatch.setitem(exercises.REGISTRY, "98.1", exercises.Exercise(
        "98.1", "what is two plus two?", lambda a: exercises.close_to(a, 4.0), "count on your fingers", (5,)))
    assert exercises.check_solution("98.1", 4).correct is True
    with pytest.raises(exercises.WrongSolution, match="98.1"):
        exercises.check_solution("98.1", 5)
    assert "too high" in exercises.check("98.1", 5).message
    assert "could not be checked" in exercises.check("98.1", "four").message


def test_number_helpers():
    assert exercises.as_number(3) == 3.0
    for bad in (True, "3", math.inf):
        with pytest.raises(ValueError):
            exercises.as_number(bad)
    assert exercises.close_to(0.101, 0.1, abs=0.002)[0]
    assert not exercises.close_to(0.11, 0.1, abs=0.002)[0]
