"""Static checks of the committed chapter notebooks: outline, hygiene and house style.

Running them is nbval's job (`make test-notebooks`); these tests read the files as committed.
"""
from __future__ import annotations

import json
import os
import textwrap
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# DMLS_NOTEBOOKS_DIR checks a draft (a chapter being written outside notebooks/) by the same rules.
NOTEBOOKS = Path(os.environ.get("DMLS_NOTEBOOKS_DIR") or ROOT / "notebooks")
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
    assert any(line.startswith("### Exercises") for t in text for line in t.splitlines()), "end with exercises"
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


# ----------------------------------------------------------------------------- claims are code
# Chapters not yet brought onto the mechanism of glued numbers, asserted claims and checked
# exercises. Every chapter not listed here (chapters 7-11 from the start) must pass these tests;
# the list only shrinks.
NOT_YET_ON_THE_MECHANISM: set[int] = set()
# While a chapter is being brought onto it: DMLS_CHECK_CHAPTERS=4,5 checks those chapters too.
NOT_YET_ON_THE_MECHANISM -= {int(n) for n in __import__("os").environ.get("DMLS_CHECK_CHAPTERS", "").split(",") if n.strip()}
WRITTEN = {chapter_of(p): p.stem for p in PATHS}
ROLE = re.compile(r"\{(glue:text|glue|doc|term|ref|numref|cite|cite:p|cite:t|download)\}`([^`]*)`")
GLUE_REF = re.compile(r"\{glue(?::text)?\}`([A-Za-z_][A-Za-z0-9_]*)(?::[^`]*)?`")
CHAPTER_MENTION = re.compile(r"\b[Cc]hapters?\s+(\d{1,2})((?:\s*(?:,|and|or|to|\u2013|-)\s*\d{1,2})*)")


def mechanism_paths() -> list[Path]:
    return [p for p in PATHS if chapter_of(p) not in NOT_YET_ON_THE_MECHANISM]


MECHANISM = mechanism_paths()


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_calls(cell, names: set[str]) -> list:
    """Calls of the named functions in a code cell (``notebook.claim(...)`` or ``claim(...)``)."""
    import ast

    lines = [ln for ln in source(cell).splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in names:
                found.append(node)
    return found


def glued_names(nb) -> set[str]:
    return {o.get("metadata", {}).get("scrapbook", {}).get("name") for c in nb["cells"]
            for o in c.get("outputs", []) if o.get("metadata", {}).get("scrapbook")}


def plain(text: str) -> str:
    """Markdown as a reader sees it, lower-cased: roles replaced by their text, markup dropped."""
    def role(m):
        kind, body = m.group(1), m.group(2)
        if kind.startswith("glue"):
            return "\u2039value\u203a"
        return re.sub(r"\s*<[^>]*>\s*$", "", body)
    text = ROLE.sub(role, text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\\1", text)
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"[*_`]", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def prose_cells(nb):
    """(index, text) of markdown cells, with fenced blocks (directives included) kept."""
    return [(i, source(c)) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_every_glued_reference_is_glued(path):
    nb = load(path)
    names = glued_names(nb)
    every = [o["metadata"]["scrapbook"]["name"] for c in nb["cells"] for o in c.get("outputs", [])
             if o.get("metadata", {}).get("scrapbook")]
    assert len(every) == len(set(every)), f"values glued twice: {sorted({n for n in every if every.count(n) > 1})}"
    used = {m for _, t in prose_cells(nb) for m in GLUE_REF.findall(t)}
    assert used, "the prose quotes no computed value with {glue:text}"
    assert not used - names, f"the prose quotes values no cell glued: {sorted(used - names)}"
    assert not names - used, f"values glued but never quoted: {sorted(names - used)}"


@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_claims_quote_the_prose_and_checks_are_hidden(path):
    """Each claim() quotes words of the markdown; glue and claim cells are removed from the page."""
    import ast

    nb = load(path)
    prose = " ".join(plain(t) for _, t in prose_cells(nb))
    claims, problems = 0, []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        calls = code_calls(cell, {"claim"})
        if (calls or code_calls(cell, {"glue"})) and "remove-cell" not in tags(cell):
            problems.append(f"cell {i} glues or claims but is not tagged remove-cell")
        for call in calls:
            claims += 1
            if len(call.args) < 2 or not isinstance(call.args[1], ast.Constant) or not isinstance(call.args[1].value, str):
                problems.append(f"cell {i}: claim()'s sentence must be a literal string quoted from the prose")
                continue
            sentence = plain(call.args[1].value)
            if sentence not in prose:
                problems.append(f"cell {i}: the claim {call.args[1].value!r} is not in the prose")
    assert not problems, "\n".join(problems)
    sections = [h for h in headings(nb) if h[0] == 2 and norm(h[1]) not in ("summary", "exercises")]
    assert claims >= len(sections), f"{claims} claims for {len(sections)} sections: assert what the prose says"


@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_every_section_quotes_or_asserts_its_output(path):
    """Each section ('##' heading) with code has a glued value or a claim before the next section."""
    nb = load(path)
    current, seen, missing = None, set(), []
    for cell in nb["cells"] + [{"cell_type": "markdown", "source": "## end"}]:
        if cell["cell_type"] == "markdown":
            for line in source(cell).splitlines():
                m = HEADING.match(line)
                if m and len(m.group(1)) == 2:
                    if current and current[1] and current[0] not in seen:
                        missing.append(current[0])
                    current = [m.group(2), False]
        elif current is not None and source(cell).strip():
            if norm(current[0]) not in ("summary", "exercises", "references"):
                current[1] = True
            if code_calls(cell, {"claim", "glue"}):
                seen.add(current[0])
    assert not missing, f"sections whose outputs the prose neither quotes nor asserts: {missing}"


NUMBER = re.compile(r"(?<![\w.\-/])\d[\d,]*(?:\.\d+)?%?(?![\w])")
REFERENCE_WORDS = re.compile(r"(?:chapters?|sections?|exercises?|figures?|tables?|equations?|steps?|issues?|"
                             r"ch\.?|part|version|python|day|days)\s*$", re.I)


def _code_numbers(nb) -> set[str]:
    numbers = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            numbers |= set(re.findall(r"\d[\d_]*(?:\.\d+)?", source(cell)))
    return {n.replace("_", "") for n in numbers}


def typed_numbers(nb) -> list[str]:
    """Numbers in the prose that are neither glued, nor parameters in the code, nor cited figures."""
    code_numbers = _code_numbers(nb)
    found = []
    for _, text in prose_cells(nb):
        text = re.sub(r"^#{1,6} .*$", " ", text, flags=re.M)
        text = re.sub(r"```.*?```|~~~.*?~~~", " ", text, flags=re.S)
        text = re.sub(r"^:::.*$|^```.*$", " ", text, flags=re.M)
        text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.S)
        text = re.sub(r"`[^`]*`(?<!\{glue:text\}`)", lambda m: m.group(0) if "{" in m.group(0)[:1] else " ", text)
        for sentence in re.split(r"(?<=[.!?;:])\s+|\n\s*\n", text):
            if "{cite" in sentence:
                continue  # the book's own figures, cited
            stripped = ROLE.sub(" ", sentence)
            stripped = re.sub(r"`[^`]*`|\]\([^)]*\)|<[^>]+>", " ", stripped)
            for m in NUMBER.finditer(stripped):
                token = m.group(0).rstrip(",")
                if REFERENCE_WORDS.search(stripped[:m.start()]):
                    continue
                bare = token.rstrip("%").replace(",", "")
                if bare in code_numbers or token in code_numbers:
                    continue
                found.append(token)
    return found


@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_no_number_is_typed_into_the_prose(path):
    """A number in the text is glued from the notebook, a parameter its code sets, or the book's cited figure."""
    typed = typed_numbers(load(path))
    assert not typed, f"numbers typed into the prose (glue them, or cite the book): {typed}"


# ----------------------------------------------------------------------------- exercises
@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_exercises_are_checked_and_solutions_folded_whole(path):
    from dmls import exercises

    nb = load(path)
    chapter = chapter_of(path)
    registered = [e.id for e in exercises.for_chapter(chapter)]
    assert len(registered) >= 3, f"chapter {chapter} registers {len(registered)} checked exercises; it needs 3"
    reader, solved = set(), set()
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for call in code_calls(cell, {"check", "check_solution"}):
            if not call.args or not hasattr(call.args[0], "value"):
                continue
            name = call.func.attr if hasattr(call.func, "attr") else call.func.id
            if name == "check_solution":
                assert "hide-cell" in tags(cell), f"cell {i}: the solution of {call.args[0].value} must be tagged hide-cell"
                solved.add(call.args[0].value)
            else:
                assert not set(tags(cell)) & {"hide-cell", "remove-cell", "hide-input"}, \
                    f"cell {i}: the reader's check of {call.args[0].value} must be visible"
                reader.add(call.args[0].value)
        assert "hide-input" not in tags(cell) or not code_calls(cell, {"check_solution"}), \
            f"cell {i}: hide-input leaves a solution's answer visible; fold the whole cell (hide-cell)"
    assert set(registered) == solved, f"solutions run through a checker: {sorted(solved)}; registered: {registered}"
    assert set(registered) == reader, f"reader cells that check an answer: {sorted(reader)}; registered: {registered}"


# ----------------------------------------------------------------------------- links
def _mentions(text: str):
    for m in CHAPTER_MENTION.finditer(text):
        yield [int(m.group(1))] + [int(n) for n in re.findall(r"\d{1,2}", m.group(2))]


def unlinked_chapter_mentions(nb) -> list[int]:
    found = []
    for _, text in prose_cells(nb):
        text = re.sub(r"^#{1,6} .*$", " ", text, flags=re.M)
        text = ROLE.sub(" ", re.sub(r"```.*?```", " ", text, flags=re.S))
        text = re.sub(r"\{cite[^}]*\}`[^`]*`", " ", text)
        for numbers in _mentions(text):
            found += numbers
    return found


@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_written_chapters_are_linked(path):
    """'chapter 3' in the prose is a {doc} link once chapter 3 exists; unwritten chapters stay plain."""
    mentions = unlinked_chapter_mentions(load(path))
    unlinked = sorted({n for n in mentions if n in WRITTEN and n != chapter_of(path)})
    assert not unlinked, f"mentions of written chapters that are not {{doc}} links: {unlinked}"


def test_mentions_of_chapters_not_yet_written_are_listed():
    """The list of plain mentions of chapters to come: each becomes a link when its chapter is written."""
    import warnings

    listing = {}
    for path in PATHS:
        pending = [n for n in unlinked_chapter_mentions(load(path)) if n not in WRITTEN]
        assert all(n in CHAPTERS for n in pending), f"{path.name} mentions a chapter the book does not have"
        if pending:
            listing[path.name] = sorted(set(pending))
    report = ROOT / "_build" / "unwritten-chapter-mentions.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(listing, indent=1) + "\n")
    if listing:
        warnings.warn("mentions of chapters not yet written (plain text until they are): " +
                      "; ".join(f"{k}: {v}" for k, v in listing.items()), stacklevel=1)


def glossary_terms() -> dict[str, list[str]]:
    """Each glossary term and the words that name it in prose (a name and its abbreviation)."""
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    terms = {}
    for line in block.splitlines():
        if line.strip() and not line.startswith((" ", "\t")) and not line.startswith(":"):
            term = line.strip()
            m = re.match(r"(.*?)\s*\(([^)]+)\)$", term)
            terms[term] = [m.group(1), m.group(2)] if m else [term]
    return terms


@pytest.mark.parametrize("path", MECHANISM, ids=[p.name for p in MECHANISM])
def test_first_use_of_a_glossary_term_links_to_it(path):
    nb = load(path)
    text = "\n".join(re.sub(r"^#{1,6} .*$", " ", t, flags=re.M) for _, t in prose_cells(nb))
    text = re.sub(r"```.*?```|(?<!\})`[^`{]*`(?!`)", lambda m: " " * len(m.group(0)), text, flags=re.S)
    problems = []
    for term, names in glossary_terms().items():
        first_plain, first_link = None, None
        for name in names:
            flags = 0 if name.isupper() else re.I
            for m in re.finditer(rf"(?<![\w-]){re.escape(name)}s?(?![\w-])", text, flags):
                before = text[max(0, m.start() - 8):m.start()]
                if "{term}`" in before or re.search(r"\{term\}`[^`]*$", text[max(0, m.start() - 80):m.start()]):
                    first_link = m.start() if first_link is None else min(first_link, m.start())
                else:
                    first_plain = m.start() if first_plain is None else min(first_plain, m.start())
        if first_plain is not None and (first_link is None or first_plain < first_link):
            problems.append(term)
    assert not problems, f"glossary terms whose first use is not a {{term}} link: {problems}"
