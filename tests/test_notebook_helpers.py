"""dmls.notebook: the plumbing every chapter uses."""
import importlib.util
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dmls import notebook  # noqa: E402
from dmls.world import World  # noqa: E402
from dmls.world.policies import plackett_luce  # noqa: E402


def test_setup_seeds_everything_and_returns_a_generator():
    rng = notebook.setup(seed=5)
    first = (np.random.random(), rng.random())
    rng = notebook.setup(seed=5)
    assert (np.random.random(), rng.random()) == first
    assert pd.get_option("display.precision") == 4
    with pytest.raises(ValueError, match="seed"):
        notebook.setup(seed=-1)
    with pytest.raises(ValueError, match="threads"):
        notebook.setup(threads=0)


def test_setup_caps_the_threads_of_torch_imported_afterwards():
    """A chapter calls setup() first and fits its first network later: torch must obey too."""
    import subprocess
    import sys

    code = ("import sys; from dmls import notebook; notebook.setup(seed=0, threads=1); "
            "assert 'torch' not in sys.modules; import torch; print(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in __import__("os").environ.items() if not k.endswith("_NUM_THREADS")})
    assert out.stdout.split() == ["1"]


def test_show_source_shows_the_real_code():
    shown = notebook.show_source(plackett_luce)
    text = shown.data
    assert "lib/dmls/world/policies.py" in text and "def plackett_luce(" in text
    assert text.count("```") == 2
    method = notebook.show_source(World.run).data
    assert "\ndef run(self" in method  # dedented, so it reads as a block of its own
    part = notebook.show_source(World, start="def run(").data
    assert part.split("```python\n")[1].startswith("def run(")


def test_show_source_refuses_other_code():
    with pytest.raises(ValueError, match="dmls code only"):
        notebook.show_source(np.mean)
    with pytest.raises(ValueError, match="does not occur"):
        notebook.show_source(World, start="def fly(")


def test_components_know_what_is_built():
    table = notebook.components(chapter=1)
    assert table.loc["dmls.world", "in dmls yet"] == "yes" and table.loc["dmls.platform", "in dmls yet"] == "yes"
    assert table.loc["dmls.world", "this chapter"] == "yes" and table.loc["dmls.serving", "this chapter"] == "yes"  # the latency helpers
    assert table.loc["dmls.monitoring", "this chapter"] == ""
    for component, built in table["in dmls yet"].items():
        assert (built == "yes") == (importlib.util.find_spec(component) is not None), component
    assert set(table.columns) >= {"chapters", "role", "in dmls yet"}
    assert "this chapter" not in notebook.components().columns


def test_system_map_draws_every_component():
    ax = notebook.system_map(chapter=1)
    texts = {t.get_text() for t in ax.texts}
    for c in notebook.COMPONENTS:
        assert any(c.title.split("\n")[0] in t for t in texts), c.module
    plt.close("all")


def test_figure_slider_links_slider_and_pages():
    drawn = []
    box = notebook.figure_slider(drawn.append, [10, 20, 30], value=20, description="n")
    slider, stack = box.children
    assert drawn == [10, 20, 30]
    assert slider.index == 1 and stack.selected_index == 1 and len(stack.children) == 3
    assert list(slider.options) == ["10", "20", "30"]
    with pytest.raises(ValueError, match="not one of"):
        notebook.figure_slider(drawn.append, [1, 2], value=3)
    with pytest.raises(ValueError, match="at least one"):
        notebook.figure_slider(drawn.append, [])


def test_glue_records_the_formatted_value_for_myst_nb(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append((obj, kw)))
    assert notebook.glue("rule_auc", 0.63312, ".3f") == "0.633"
    recorded, reader_sees = shown
    assert reader_sees == ({"text/plain": "rule_auc = 0.633"}, {"raw": True})
    # exactly what myst-nb's own glue displays for the same value, pasted without quotes
    from myst_nb.ext import glue as myst

    expected = []
    monkeypatch.setattr(myst, "ipy_display", lambda obj, **kw: expected.append((obj, kw)))
    myst.glue("rule_auc", notebook._Quoted("0.633"), display=False)
    assert recorded == expected[0] and notebook.GLUE_PREFIX == myst.GLUE_PREFIX
    assert recorded[0] == {"application/papermill.record/text/plain": "0.633"}
    assert notebook.glue("rows", 1_260_000, ",d") == "1,260,000"
    assert notebook.glue("share", 0.049, ".1%") == "4.9%"
    assert notebook.glue("region", "BR") == "BR"


@pytest.mark.parametrize("args, error, match", [
    (("1x", 0.5), ValueError, "identifier"),
    (("x", [1, 2]), TypeError, "numbers or text"),
    (("x", True), TypeError, "numbers or text"),
    (("x", float("nan")), ValueError, "finite"),
    (("x", 0.5, ",d"), ValueError, "does not apply"),
    (("x", "BR", ".3f"), ValueError, "already text"),
])
def test_glue_rejects_what_it_cannot_quote(monkeypatch, args, error, match):
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    with pytest.raises(error, match=match):
        notebook.glue(*args)


def test_claim_passes_silently_and_fails_with_the_sentence(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: None)
    assert notebook.claim(0.63 > 0.51, "the rule beats the lookup table") == "the rule beats the lookup table"
    assert notebook.claim(np.bool_(True), "numpy truth values work")
    with pytest.raises(notebook.ClaimError, match="the text says 'A beats B'"):
        notebook.claim(False, "A beats B")
    with pytest.raises(AssertionError):  # nbval reports it as a failed assertion
        notebook.claim(0, "zero is false")
    with pytest.raises(TypeError, match="one truth value"):
        notebook.claim(pd.Series([True, False]), "ambiguous")
    with pytest.raises(ValueError, match="needs the sentence"):
        notebook.claim(True, "  ")
