"""Exercises that check the reader's answer: ``exercises.check("4.2", answer)`` says right or not yet.

Each chapter's exercises are registered in ``chapterNN.py`` with a checker that computes the truth
from the library itself (not a number typed into the checker) and a hint for a wrong answer. The
book's own solutions, folded away on each page, call :func:`check_solution`, which raises when the
solution is wrong, so the notebook tests run every solution through its checker.

Introduced in chapter 1 ("Overview"); every chapter ends with exercises checked this way.
"""
from __future__ import annotations

import importlib
import math
import numbers
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable

_ID = re.compile(r"(\d{1,2})\.(\d{1,2})\Z")


class WrongSolution(AssertionError):
    """The book's own solution to an exercise does not pass its checker.

    Introduced in chapter 1 ("Overview"), raised by :func:`check_solution`.
    """


@dataclass(frozen=True)
class Verdict:
    """What the checker says of an answer: right (True), not yet (False) or not answered (None).

    Introduced in chapter 1 ("Overview"), returned by :func:`check`.
    """

    exercise: str
    correct: bool | None
    message: str

    def __bool__(self) -> bool:
        return bool(self.correct)

    def __str__(self) -> str:
        mark = {True: "Right", False: "Not yet", None: "No answer yet"}[self.correct]
        return f"Exercise {self.exercise} \u2014 {mark}: {self.message}"

    def _repr_markdown_(self) -> str:
        mark = {True: "\u2705 **Right.**", False: "\u274c **Not yet.**", None: "\u270f\ufe0f **No answer yet.**"}
        return f"Exercise {self.exercise} \u2014 {mark[self.correct]} {self.message}"

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its checker, the hint for a wrong answer, and answers it must reject.

    Introduced in chapter 1 ("Overview").
    """

    id: str
    question: str
    checker: Callable[[Any], bool | tuple[bool, str]]
    hint: str
    wrong_answers: tuple = field(default_factory=tuple)

    @property
    def chapter(self) -> int:
        return int(self.id.split(".")[0])


REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, *, question: str, hint: str, wrong_answers: tuple = ()):
    """Register ``checker(answer) -> bool`` (or ``(bool, message)``) as exercise ``id``.

    ``wrong_answers`` are plausible mistakes the checker must reject (the tests make sure it does).

    Introduced in chapter 1 ("Overview").
    """
    if not isinstance(id, str) or not _ID.match(id):
        raise ValueError(f"an exercise id is 'chapter.number', like '4.2', got {id!r}")
    if not question or not hint:
        raise ValueError(f"exercise {id} needs a question and a hint")
    if not wrong_answers:
        raise ValueError(f"exercise {id} needs at least one wrong answer its checker rejects")

    def register(checker):
        if id in REGISTRY:
            raise ValueError(f"exercise {id} is registered twice")
        REGISTRY[id] = Exercise(id, question, checker, hint, tuple(wrong_answers))
        return checker

    return register


def _load() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("chapter"):
            importlib.import_module(f"{__name__}.{info.name}")


def get(id: str) -> Exercise:
    """The registered exercise ``id``; a clear error naming the ones that exist otherwise.

    Introduced in chapter 1 ("Overview").
    """
    _load()
    if id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY, key=lambda k: tuple(map(int, k.split("."))))) or "none"
        raise KeyError(f"no exercise {id!r}; the registered ones are {known}")
    return REGISTRY[id]


def for_chapter(chapter: int) -> list[Exercise]:
    """The exercises of one chapter, in order.

    Introduced in chapter 1 ("Overview").
    """
    _load()
    found = [e for e in REGISTRY.values() if e.chapter == chapter]
    return sorted(found, key=lambda e: int(e.id.split(".")[1]))


def check(id: str, answer) -> Verdict:
    """Say whether ``answer`` to exercise ``id`` is right; a wrong one gets the exercise's hint.

    Never raises for a wrong or malformed answer: the reader gets a message instead.

    Introduced in chapter 1 ("Overview"); every chapter's exercises end with it.
    """
    ex = get(id)
    if answer is None or answer is Ellipsis:
        return Verdict(id, None, "set `answer` in the cell above and run this cell again.")
    try:
        outcome = ex.checker(answer)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        return Verdict(id, False, f"that answer could not be checked ({err}). Hint: {ex.hint}")
    ok, message = outcome if isinstance(outcome, tuple) else (bool(outcome), "")
    if ok:
        return Verdict(id, True, message or "that is what the library computes.")
    return Verdict(id, False, (message + " " if message else "") + f"Hint: {ex.hint}")


def check_solution(id: str, answer) -> Verdict:
    """Check the book's own solution to exercise ``id``; raise :class:`WrongSolution` if it fails.

    Introduced in chapter 1 ("Overview"); the folded solution of every exercise ends with it.
    """
    verdict = check(id, answer)
    if verdict.correct is not True:
        raise WrongSolution(f"the solution of exercise {id} does not pass its checker: {verdict.message}")
    return verdict


# ----------------------------------------------------------------------------- helpers for checkers
def as_number(answer, what: str = "the answer") -> float:
    """``answer`` as a finite float, or a ValueError the reader can act on.

    Introduced in chapter 1 ("Overview"), for checkers.
    """
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise ValueError(f"{what} should be a number, got {type(answer).__name__}")
    x = float(answer)
    if not math.isfinite(x):
        raise ValueError(f"{what} should be a finite number, got {answer!r}")
    return x


def close_to(answer, truth: float, *, rel: float = 0.0, abs: float = 0.0, what: str = "the answer") -> tuple[bool, str]:
    """Whether a numeric answer is within ``rel``/``abs`` of the truth, with a message saying which way.

    Introduced in chapter 1 ("Overview"), for checkers.
    """
    x = as_number(answer, what)
    ok = math.isclose(x, truth, rel_tol=rel, abs_tol=abs)
    if ok:
        return True, f"{what} {x:.6g} matches."
    return False, f"{what} {x:.6g} is {'too high' if x > truth else 'too low'}."


__all__ = ["Exercise", "REGISTRY", "Verdict", "WrongSolution", "as_number", "check", "check_solution",
           "close_to", "exercise", "for_chapter", "get"]
