"""The built book, opened in a real browser with every non-local request blocked."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
import yaml

from .conftest import ROOT, SITE


def html_pages() -> list[str]:
    if not SITE.exists():
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not p.relative_to(SITE).parts[0].startswith("_"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])


def parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_toc_entry_is_built(site):
    for entry in toc_files():
        assert (site / f"{entry}.html").exists(), f"{entry} is in _toc.yml but not in the site"


def test_internal_links_and_anchors_resolve(site):
    parsed = {page: parse(site / page) for page in html_pages()}
    broken = []
    for page, doc in parsed.items():
        for href in doc.links + doc.images:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "//")):
                continue
            target = unquote(url.path)
            target_page = Path(page).parent.joinpath(target).as_posix() if target else page
            resolved = (site / target_page).resolve()
            if not resolved.exists():
                broken.append(f"{page}: {href} (no such file)")
                continue
            if url.fragment and resolved.suffix == ".html":
                rel = resolved.relative_to(site.resolve()).as_posix()
                ids = parsed[rel].ids if rel in parsed else parse(resolved).ids
                if unquote(url.fragment) not in ids:
                    broken.append(f"{page}: {href} (no anchor #{url.fragment})")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", html_pages())
def test_page_loads_offline_without_errors(probe, base_url, page):
    tab = probe.open(urljoin(base_url, page))
    broken_images = tab.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken_images, broken_images
    assert not probe.problems(), "\n".join(probe.problems())


@pytest.mark.parametrize("page", [p for p in html_pages() if p.startswith("notebooks/")])
def test_chapter_figures_are_on_the_page(site, page):
    """Plots reach the page (a kernel whose matplotlib backend is not inline would drop them)."""
    doc = parse(site / page)
    figures = [src for src in doc.images if src.startswith("../_images/") or src.startswith("data:image")]
    assert figures, f"{page} shows no figure"


@pytest.mark.parametrize("page", [p for p in html_pages() if p.startswith("notebooks/")])
def test_widgets_render(probe, base_url, page):
    tab = probe.open(urljoin(base_url, page))
    views = tab.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    assert views > 0, f"{page} has no saved widget views; every chapter needs at least one widget"
    tab.wait_for_function(f"() => document.querySelectorAll('.jupyter-widgets').length >= {views}", timeout=20_000)
    # A rendered interactive control (slider, dropdown, button, ...) is on the page.
    assert tab.locator(".widget-slider, .widget-dropdown, .widget-button, .widget-toggle-buttons, "
                       ".widget-radio, .widget-checkbox").count() > 0
    assert not probe.problems(), "\n".join(probe.problems())


@pytest.mark.parametrize("page", [p for p in html_pages() if 'class="math' in (SITE / p).read_text(encoding="utf-8")])
def test_math_renders(probe, base_url, page):
    tab = probe.open(urljoin(base_url, page))
    count = tab.locator(".math").count()
    tab.wait_for_function(f"() => document.querySelectorAll('mjx-container').length >= {count}", timeout=20_000)
    assert not probe.problems(), "\n".join(probe.problems())


def test_search_finds_a_chapter(probe, base_url):
    tab = probe.open(urljoin(base_url, "search.html?q=marketplace"))
    link = tab.locator('#search-results a[href*="notebooks/01-overview.html"]').first
    link.wait_for(timeout=20_000)
    assert "Overview" in link.inner_text()
    assert not probe.problems(), "\n".join(probe.problems())


@pytest.mark.parametrize("page", [p for p in html_pages() if p.startswith("notebooks/")])
def test_sliders_work_without_a_kernel(probe, base_url, page):
    """Sliders built with dmls.notebook.figure_slider flip their figures in the browser alone."""
    tab = probe.open(urljoin(base_url, page))
    sliders = tab.locator(".widget-slider")
    if sliders.count() == 0:
        pytest.skip(f"{page} has no slider")
    tab.wait_for_function("() => document.querySelectorAll('.widget-slider .noUi-handle').length > 0")
    visible_output = """() => [...document.querySelectorAll('.widget-output')]
        .filter(o => o.offsetParent !== null).map(o => o.innerHTML.length + ':' + o.innerHTML.slice(-200)).join('|')"""
    readout = tab.locator(".widget-readout").first
    before_value, before_output = readout.inner_text(), tab.evaluate(visible_output)
    handle = tab.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    # A slider whose default is its last value can only move left.
    at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    tab.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
    tab.wait_for_function(f"() => document.querySelector('.widget-readout').innerText !== {before_value!r}")
    assert tab.evaluate(visible_output) != before_output, "the slider moved but the figure did not change"
    assert not probe.problems(), "\n".join(probe.problems())


CHAPTER_PAGES = [p for p in html_pages() if p.startswith("notebooks/")]


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_no_markup_leaks_and_hidden_checks_stay_hidden(site, page):
    """Roles are rendered (no raw {glue:text} or {term}), and the remove-cell checks are not on the page."""
    text = (site / page).read_text(encoding="utf-8")
    for raw in ("{glue:text}", "{glue}", "{term}", "{doc}", "{ref}", "{cite}"):
        assert raw not in text, f"{page} shows raw MyST markup {raw}"
    import re

    visible = re.sub(r"<[^>]+>", "", text)  # highlighted code splits names into spans
    assert "\u2713 " not in visible, f"{page} shows the output of a hidden claim cell"
    assert "notebook.claim(" not in visible and "notebook.glue(" not in visible, f"{page} shows a hidden check cell"
    assert "check_solution(" in visible, f"{page} has no exercise solution (folded, but present in the page)"


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_solutions_are_folded_in_the_browser(probe, base_url, page):
    """Every solution (a cell that calls check_solution, tagged hide-cell) is collapsed until opened."""
    tab = probe.open(urljoin(base_url, page))
    cells = tab.locator(".cell")
    def source(cell) -> str:  # a remove-input cell (the system map) has no input to read
        inputs = cell.locator(".cell_input")
        return (inputs.first.text_content() or "") if inputs.count() else ""

    solutions = [i for i in range(cells.count()) if "check_solution" in cells.nth(i).inner_text()
                 or "check_solution" in source(cells.nth(i))]
    assert len(solutions) >= 3, f"{page}: fewer than three exercise solutions"
    for i in solutions:
        cell = cells.nth(i)
        assert "tag_hide-cell" in (cell.get_attribute("class") or ""), f"{page}: a solution is not tagged hide-cell"
        assert not cell.locator(".cell_input").first.is_visible(), f"{page}: a solution is visible before it is opened"
    assert not probe.problems(), "\n".join(probe.problems())
