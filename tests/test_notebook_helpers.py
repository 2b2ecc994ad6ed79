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
    assert table.loc["dmls.world", "this chapter"] == "yes" and table.loc["dmls.serving", "this chapter"] == ""
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
