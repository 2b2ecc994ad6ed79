"""Per-notebook execution time for the nbval run (`make test-notebooks`), against a budget.

Every chapter must run top to bottom in well under two minutes on the 2-core machine the book is
tested on; the budget below is what `make test` holds each notebook to. The time of a notebook is
the sum of its cells' setup, call and teardown times (kernel start included).
"""
from __future__ import annotations

import collections
import os

import pytest

NOTEBOOK_BUDGET_S = float(os.environ.get("DMLS_NOTEBOOK_BUDGET_S", 60))
_seconds: dict[str, float] = collections.defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    terminalreporter.section("notebook execution time")
    for path, seconds in sorted(_seconds.items()):
        flag = "  OVER BUDGET" if seconds > NOTEBOOK_BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    terminalreporter.write_line(f"budget: {NOTEBOOK_BUDGET_S:.0f} s per notebook")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    over = {p: s for p, s in _seconds.items() if s > NOTEBOOK_BUDGET_S}
    if over and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
