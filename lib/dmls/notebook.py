"""Plumbing shared by the chapter notebooks: one setup call, the library's own source, the system map.

Introduced in chapter 1 (the opening of every chapter uses :func:`setup` and :func:`system_map`).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import random
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Threads for BLAS and OpenMP: results reproduce exactly with a fixed count (TOOLCHAIN.md).
THREADS = 2


def setup(seed: int = 0, threads: int = THREADS) -> np.random.Generator:
    """Make a notebook reproducible and its output readable; return a seeded Generator.

    Seeds Python's and NumPy's global generators (and torch's, if torch has been imported),
    caps BLAS/OpenMP threads (those loaded already, and through the environment those loaded
    later, torch's among them, and the notebook's subprocesses), and sets pandas display precision and a plain plot style.

    Introduced in chapter 1; every chapter calls it first.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    random.seed(seed)
    np.random.seed(seed)
    # threadpoolctl caps the libraries loaded so far; a library loaded later (torch brings its own
    # OpenMP, usually imported by the first network a chapter fits) reads its count from the
    # environment when it loads. Without this a chapter that asked for one thread trained its
    # networks on two, slower on two shared cores (0.7 s against 1.2-1.5 s for chapter 6's).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    pd.set_option("display.precision", 4)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", 100)
    _plot_style()
    return np.random.default_rng(seed)


def _plot_style() -> None:
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": 100, "savefig.dpi": 100,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.titlesize": 11, "axes.labelsize": 10, "legend.frameon": False, "font.size": 10,
        # Text stays text in SVG and file outputs are byte-identical between runs.
        "svg.fonttype": "none", "svg.hashsalt": "dmls", "path.simplify": True,
    })


def show_source(obj, *, start: str | None = None) -> "Markdown":  # noqa: F821
    """Display the real source of a ``dmls`` function, class or method, with where it lives.

    ``start`` skips to the first line containing that text (to show one method of a class).
    Book and library cannot drift apart: the page shows the code the notebook runs.

    Introduced in chapter 1 ("The marketplace"); used wherever a chapter shows a component.
    """
    from IPython.display import Markdown

    target = inspect.unwrap(obj)
    module = inspect.getmodule(target)
    if module is None or not module.__name__.startswith("dmls"):
        raise ValueError(f"show_source shows dmls code only, not {getattr(obj, '__qualname__', obj)!r}")
    lines, first = inspect.getsourcelines(target)
    if start is not None:
        hits = [i for i, line in enumerate(lines) if start in line]
        if not hits:
            raise ValueError(f"{start!r} does not occur in the source of {target.__qualname__}")
        lines, first = lines[hits[0]:], first + hits[0]
    path = Path(inspect.getsourcefile(target)).resolve()
    root = Path(__file__).resolve().parents[1]
    where = path.relative_to(root.parent) if path.is_relative_to(root.parent) else path.name
    name = f"{module.__name__}.{target.__qualname__}" if hasattr(target, "__qualname__") else module.__name__
    text = textwrap.dedent("".join(lines)).rstrip()
    header = f"`{name}` from `{where}`, lines {first}–{first + len(lines) - 1}:"
    return Markdown(f"{header}\n\n```python\n{text}\n```")


class _Quoted(str):
    """Text whose repr is itself, so that myst-nb pastes it without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _format(value, fmt: str) -> str:
    if isinstance(value, str):
        if fmt:
            raise ValueError("a format applies to numbers; this value is already text")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"glue quotes numbers or text, not {type(value).__name__} {value!r}")
    if not np.isfinite(float(value)):
        raise ValueError(f"a quoted number must be finite, got {value!r}")
    try:
        return format(value, fmt)
    except ValueError as err:
        raise ValueError(f"format {fmt!r} does not apply to {value!r}: {err}") from None


_NAME = __import__("re").compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: The mime-type prefix myst-nb reads glued values from (``myst_nb.ext.glue.GLUE_PREFIX``).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value, fmt: str = "") -> str:
    """Quote a computed value in the prose: the text then reads ``{glue:text}`name```.

    The value is formatted here (``fmt`` is a format spec such as ``".3f"``, ``",d"`` or ``".1%"``),
    so the page shows exactly the digits the notebook chose. On the website the value is pasted into
    the sentence by myst-nb; in JupyterLab the (hidden on the site) cell shows ``name = value``, so
    the reader sees the same figures. Returns the formatted text.

    Introduced in chapter 1 ("Overview"); every chapter quotes its numbers this way.
    """
    from IPython.display import display

    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"a glue name is a Python identifier, got {name!r}")
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format spec string, got {fmt!r}")
    text = _format(value, fmt)
    # What myst_nb.glue(name, _Quoted(text), display=False) displays, written out: importing
    # myst_nb.ext.glue pulls in nbformat and jsonschema, 1.7 s of CPU in every chapter.
    display({GLUE_PREFIX + "text/plain": str(_Quoted(text))}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})
    display({"text/plain": f"{name} = {text}"}, raw=True)
    return text


class ClaimError(AssertionError):
    """A sentence of the prose that the notebook's own output no longer supports.

    Introduced in chapter 1 ("Overview"), raised by :func:`claim`.
    """


def claim(condition, sentence: str) -> str:
    """Assert what the prose says of an output; fail with the sentence when a re-run contradicts it.

    ``sentence`` is quoted from the markdown beside the cell (a test checks that it occurs there),
    so a reader of a failing run sees which words stopped being true. Returns a check mark line,
    shown in JupyterLab (the cell is removed on the site).

    Introduced in chapter 1 ("Overview"); every chapter asserts its claims this way.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("a claim needs the sentence of the prose that it checks")
    if isinstance(condition, (pd.Series, pd.DataFrame, np.ndarray)) and np.size(condition) != 1:
        raise TypeError("a claim's condition is one truth value: reduce it with .all() or .any() first")
    if not bool(condition):
        raise ClaimError(f"the text says {sentence!r}, but this run's output does not support it")
    from IPython.display import display

    display({"text/plain": f"\u2713 {sentence}"}, raw=True)
    return sentence


def figure_slider(draw, values, value=None, description: str = ""):
    """A slider that flips between outputs drawn in advance, one per value.

    ``draw(v)`` is called once for each value, inside its own output area (plot with
    ``plt.show()`` or display anything). The slider and the outputs are linked in the browser
    (``jslink``), so the widget stays interactive on the static website, where no kernel runs,
    as well as in JupyterLab.

    Introduced in chapter 1 ("When to Use Machine Learning").
    """
    import ipywidgets as widgets

    values = list(values)
    if not values:
        raise ValueError("figure_slider needs at least one value")
    value = values[0] if value is None else value
    if value not in values:
        raise ValueError(f"value {value!r} is not one of the slider's values")
    pages = []
    for v in values:
        out = widgets.Output()
        with out:
            draw(v)
        pages.append(out)
    stack = widgets.Stack(pages, selected_index=values.index(value))
    labels = [f"{v:,}" if isinstance(v, int) else str(v) for v in values]
    slider = widgets.SelectionSlider(options=labels, index=values.index(value), description=description,
                                     continuous_update=True, style={"description_width": "initial"})
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])


@dataclass(frozen=True)
class Component:
    """One part of the system the book builds.

    Introduced in chapter 1 ("Understanding Machine Learning Systems").
    """

    module: str
    title: str
    chapters: tuple[int, ...]
    role: str
    xy: tuple[float, float]

    @property
    def built(self) -> bool:
        return importlib.util.find_spec(f"dmls.{self.module}") is not None


#: The system the book builds, component by component (see DESIGN.md).
COMPONENTS: tuple[Component, ...] = (
    Component("world", "marketplace\n(simulated)", (1,), "users, items, sessions, clicks, purchases; the ranking policy closes the loop", (0.0, 2.0)),
    Component("data", "data\nengineering", (3,), "formats, stores, event log, batch and stream processing", (2.2, 2.0)),
    Component("sampling", "sampling", (4,), "samples of the logs, reservoir and importance sampling", (4.4, 3.1)),
    Component("labeling", "labeling", (4,), "natural labels, weak supervision, label windows", (4.4, 0.9)),
    Component("features", "features", (1, 5), "transforms shared by training and serving, leakage checks", (6.6, 2.0)),
    Component("models", "models", (1, 6), "training, ensembles, tracking, tuning, distributed training", (8.8, 2.0)),
    Component("evaluation", "offline\nevaluation", (6,), "metrics, baselines, slices, calibration, behavioural tests", (8.8, 0.25)),
    Component("serving", "prediction\nservice", (1, 7), "batch and online prediction, compression, export", (11.0, 2.0)),
    Component("monitoring", "monitoring", (8,), "metrics, drift detection, alerts", (11.0, 3.7)),
    Component("continual", "continual\nlearning", (9,), "retraining, shadow, A/B, canary, interleaving, bandits", (8.8, 3.7)),
    Component("platform", "ML platform", (1, 10), "lineage, workflows, model store, feature store", (5.5, -0.6)),
    Component("responsible", "responsible\nAI", (11,), "fairness checks, model cards", (11.0, 0.25)),
)
_EDGES = (("world", "data"), ("data", "sampling"), ("data", "labeling"), ("sampling", "features"),
          ("labeling", "features"), ("features", "models"), ("models", "evaluation"), ("models", "serving"),
          ("serving", "monitoring"), ("monitoring", "continual"), ("continual", "models"),
          ("evaluation", "responsible"))


def components(chapter: int | None = None) -> pd.DataFrame:
    """The system's components, which chapters build them, and whether ``dmls`` has them yet.

    Introduced in chapter 1 ("Understanding Machine Learning Systems").
    """
    frame = pd.DataFrame({
        "chapters": [", ".join(map(str, c.chapters)) for c in COMPONENTS],
        "role": [c.role for c in COMPONENTS],
        "in dmls yet": ["yes" if c.built else "not yet" for c in COMPONENTS],
    }, index=pd.Index([f"dmls.{c.module}" for c in COMPONENTS], name="component"))
    if chapter is not None:
        frame["this chapter"] = ["yes" if chapter in c.chapters else "" for c in COMPONENTS]
    return frame


def system_map(chapter: int | None = None, ax=None):
    """Draw the system: components built so far solid, those to come dashed, this chapter's shaded.

    The arrow over the top is the closed loop: slates ranked by the prediction service are what
    the marketplace's users see, so the model shapes the data it will learn from next.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.6))
    by_name = {c.module: c for c in COMPONENTS}
    w, h, gap = 1.8, 0.95, 0.06

    def box(x, y, width, title, chapters, built, current):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - h / 2), width, h, boxstyle="round,pad=0.04",
                                    linewidth=2.0 if current else 1.0, linestyle="-" if built else (0, (4, 3)),
                                    edgecolor="#333333" if built else "#999999",
                                    facecolor="#fde2bf" if current else ("#dde9f5" if built else "white")))
        ax.text(x, y + 0.1, title, ha="center", va="center", fontsize=8.5, linespacing=1.0,
                fontweight="bold" if current else "normal", color="#111111" if built else "#777777")
        ax.text(x, y - h / 2 + 0.06, "ch " + ", ".join(map(str, chapters)), ha="center", va="bottom",
                fontsize=7, color="#555555")

    def arrow(p, q, color="#555555", **kw):
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=10, color=color, shrinkA=0,
                                     shrinkB=0, linewidth=1.0, **kw))

    for c in COMPONENTS:
        current = chapter is not None and chapter in c.chapters
        if c.module == "platform":  # the platform underlies every component: a band along the bottom
            box(5.5, -1.15, 13.0, "ML platform: lineage, workflows, model store, feature store", c.chapters,
                c.built, current)
        else:
            box(*c.xy, w, c.title, c.chapters, c.built, current)
    for a, b in _EDGES:
        (xa, ya), (xb, yb) = by_name[a].xy, by_name[b].xy
        if abs(xa - xb) < 1e-9:  # vertical
            s = 1 if yb > ya else -1
            arrow((xa, ya + s * (h / 2 + gap)), (xb, yb - s * (h / 2 + gap)))
        else:
            s = 1 if xb > xa else -1
            arrow((xa + s * (w / 2 + gap), ya), (xb - s * (w / 2 + gap), yb))
    # The closed loop, drawn over the top of everything.
    (sx, sy), (wx, wy) = by_name["serving"].xy, by_name["world"].xy
    top, right = 4.85, sx + w / 2 + 0.35
    loop = "#b5542b"
    ax.plot([sx + w / 2 + gap, right, right, wx, wx], [sy, sy, top, top, wy + h / 2 + 0.3], color=loop,
            linewidth=1.2, linestyle=(0, (5, 3)))
    arrow((wx, wy + h / 2 + 0.31), (wx, wy + h / 2 + gap), color=loop)
    ax.text((sx + wx) / 2, top + 0.12, "slates ranked by the model are what users see next: the closed loop",
            ha="center", va="bottom", fontsize=8, color=loop)
    ax.set_xlim(-1.1, 12.6)
    ax.set_ylim(-1.75, 5.35)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


#: The iterative process of developing an ML system, and the chapters that teach each step.
PROCESS_STEPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("project scoping", (2,)),
    ("data engineering", (3, 4)),
    ("model development", (5, 6)),
    ("deployment", (7,)),
    ("monitoring and\ncontinual learning", (8, 9)),
    ("business analysis", (2, 9)),
)


def iterative_process(chapter: int | None = None, ax=None):
    """Draw the loop of developing an ML system, each step labelled with its chapters.

    Steps the given chapter teaches are shaded. Every step can send the work back to an
    earlier one; the loop never ends while the system is in use.

    Introduced in chapter 2 ("Iterative Process").
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5.2))
    n = len(PROCESS_STEPS)
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    radius, w, h = 2.2, 1.9, 0.75
    centres = np.column_stack([radius * np.cos(angles) * 1.25, radius * np.sin(angles)])
    for (title, chapters), (x, y) in zip(PROCESS_STEPS, centres):
        current = chapter is not None and chapter in chapters
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                    facecolor="#fde2bf" if current else "#dde9f5", edgecolor="#333333",
                                    linewidth=2.0 if current else 1.0))
        ax.text(x, y + 0.08, title, ha="center", va="center", fontsize=9, linespacing=1.0,
                fontweight="bold" if current else "normal")
        ax.text(x, y - h / 2 + 0.06, "ch " + ", ".join(map(str, chapters)), ha="center", va="bottom", fontsize=7,
                color="#555555")
    for i in range(n):
        a, b = centres[i], centres[(i + 1) % n]
        direction = (b - a) / np.linalg.norm(b - a)
        ax.add_patch(FancyArrowPatch(tuple(a + direction * 0.75), tuple(b - direction * 0.75), arrowstyle="-|>",
                                     mutation_scale=11, color="#555555", connectionstyle="arc3,rad=-0.15"))
    ax.text(0, 0.15, "each step can send\nthe work back to any\nearlier one", ha="center", va="center",
            fontsize=8.5, color="#b5542b")
    ax.text(0, -0.55, "ch 10: infrastructure\nch 11: people", ha="center", va="center", fontsize=8, color="#555555")
    ax.set_xlim(-3.9, 3.9)
    ax.set_ylim(-2.75, 2.75)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
