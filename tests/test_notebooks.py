"""Static checks of the committed chapter notebooks: outline, hygiene and house style.

Running them is nbval's job (`make test-notebooks`); these tests read the files as committed.
"""
from __future__ import annotations

import json
import textwrap
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUTLINE = yaml.safe_load((ROOT / "book" / "outline.yml").read_text())
CHAPTERS = {ch["number"]: ch for ch in OUTLINE["chapters"]}
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def norm(title: str) -> str:
    t = title.lower().replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def headings(nb) -> list[tuple[int, str, int]]:
    """(level, title, code cells with output until the next heading) for each heading, in order."""
    out: list[list] = []
    fence = False
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in source(cell).splitlines():
                if line.lstrip().startswith(("```", "~~~")):
                    fence = not fence
                m = None if fence else HEADING.match(line)
                if m:
                    out.append([len(m.group(1)), m.group(2), 0])
        elif cell["cell_type"] == "code" and out and source(cell).strip() and cell.get("outputs"):
            out[-1][2] += 1
    return [tuple(h) for h in out]


def chapter_of(path: Path) -> int:
    m = re.match(r"(\d{2})-[a-z0-9-]+\.ipynb$", path.name)
    assert m, f"{path.name}: chapter notebooks are named NN-short-title.ipynb"
    return int(m.group(1))


PATHS = notebook_paths()


def test_every_notebook_is_a_chapter_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for path in PATHS:
        assert chapter_of(path) in CHAPTERS
        assert f"notebooks/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_outline(number):
    """Headings spelled as in the book's table of contents, in its order, each section shown by code."""
    chapter = CHAPTERS[number]
    found = [p for p in PATHS if chapter_of(p) == number]
    if not found:
        pytest.skip(f"chapter {number} ({chapter['title']}) has no notebook yet")
    hs = headings(load(found[0]))
    assert hs and hs[0][0] == 1 and norm(chapter["title"]) in norm(hs[0][1]), \
        f"the notebook must open with '# {number}. {chapter['title']}'"
    wanted = []
    for sec in chapter["sections"]:
        wanted.append((2, sec["title"]))
        wanted += [(3, sub) for sub in sec.get("subsections") or []]
    positions = []
    for level, title in wanted:
        hits = [i for i, h in enumerate(hs) if h[0] == level and norm(h[1]) == norm(title)]
        assert hits, f"missing heading {'#' * level} {title}"
        positions.append(hits[0])
    assert positions == sorted(positions), "headings are not in the book's order"
    for (level, title), pos in zip(wanted, positions):
        if norm(title) == "summary":
            continue
        # A section's code may sit under its subsections: count until the next section heading.
        end = next((i for i in range(pos + 1, len(hs)) if hs[i][0] <= level), len(hs))
        assert sum(h[2] for h in hs[pos:end]) > 0, f"'{title}' has no code cell with an output under it"


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_executed_once_top_to_bottom_without_errors(path):
    nb = load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-execute the notebook in a fresh kernel (make execute)"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{len(errors)} cells have error outputs"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert not any("execution" in c.get("metadata", {}) for c in code), "timing metadata was committed"


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_house_style(path):
    nb = load(path)
    cells = nb["cells"]
    text = [source(c) for c in cells]
    # Every chapter sets up the same way and draws its map of the system.
    assert any("notebook.setup(" in t for t in text), "call dmls.notebook.setup() near the top"
    assert any("system_map(" in t for t in text), "show the system map"
    # At least one widget, saved with the notebook so that the static page can render it.
    assert nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state"), \
        "no saved widget state: every chapter has a widget (make execute saves its state)"
    # Exercises with folded solutions.
    assert any(line.startswith("### Exercises") for t in text for line in t.splitlines()), "end with exercises"
    solutions = [c for c in cells if "hide-input" in c.get("metadata", {}).get("tags", [])]
    assert solutions, "exercise solutions are code cells tagged hide-input"
    # Nothing from the machine that executed it leaks into the page.
    outputs = json.dumps([c.get("outputs", []) for c in cells])
    for leak in ("/home/", "/root/", "/tmp/", "/work/", "site-packages"):
        assert leak not in outputs, f"an output shows a local path ({leak})"


def _prose(cell_text: str) -> str:
    text = re.sub(r"```.*?```", " ", cell_text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\{cite\}`[^`]*`|\]\([^)]*\)", " ", text)
    return text


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_numbers_in_prose_are_printed_by_code(path):
    """A decimal number or percentage quoted in the text must appear in an output of the notebook."""
    nb = load(path)
    printed = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                printed.append("".join(out["text"]))
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in out.get("data", {}):
                    printed.append("".join(out["data"][mime]))
    printed_text = "\n".join(printed)
    missing = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for number in re.findall(r"(?<![\w.])\d+\.\d+%?|(?<![\w.])\d+%", _prose(source(cell))):
            if number not in printed_text:
                missing.append(number)
    assert not missing, f"numbers quoted in the text but printed by no cell: {missing}"


SHOWN_SOURCE = re.compile(r"from `(lib/dmls/[\w/]+\.py)`, lines (\d+)\u2013(\d+):\n\n```python\n(.*?)\n```", re.S)


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_shown_source_is_the_current_library_code(path):
    """Source shown with notebook.show_source() must still be what lib/ holds at those lines (re-execute if not)."""
    shown = 0
    for cell in load(path)["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/markdown", ""))
            for file, first, last, code in SHOWN_SOURCE.findall(text):
                lines = (ROOT / file).read_text(encoding="utf-8").splitlines(keepends=True)
                current = textwrap.dedent("".join(lines[int(first) - 1:int(last)])).rstrip()
                assert code == current, f"{path.name} shows an old version of {file}, lines {first}-{last}: re-execute it"
                shown += 1
    if "show_source(" in json.dumps(load(path)["cells"]):
        assert shown, f"{path.name} calls show_source but no shown source was found in its outputs"
