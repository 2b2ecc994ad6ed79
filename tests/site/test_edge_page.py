"""Chapter 7's browser page ("ML in Browsers"): the click model run by ONNX Runtime Web, offline.

The page is served from a temporary folder laid out as the site's ``_static`` folder (the page,
the vendored runtime, a model and its data built here from a small world), so that it is tested
before the chapter is in the table of contents; when the built site has the page too, that copy
is checked the same way.
"""
from __future__ import annotations

import functools
import json
import shutil
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from .conftest import ROOT, SITE, _QuietHandler

PAGE = ROOT / "book" / "_static" / "edge"
RUNTIME = ROOT / "book" / "_vendor" / "onnxruntime-web"
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


@pytest.fixture(scope="module")
def scorer_and_data():
    from sklearn.linear_model import LogisticRegression

    from dmls.features import FeaturePipeline
    from dmls.serving import ClickScorer
    from dmls.serving.onnx_export import browser_slates, to_onnx
    from dmls.world import World

    world = World(seed=3, n_users=600, n_items=300, n_sellers=30)
    rows = world.run(days=3).labeled_impressions()
    features = FeaturePipeline(brand_buckets=16, cross_buckets=16)
    model = LogisticRegression(max_iter=1_000).fit(features.fit_transform(rows), rows["clicked"])
    scorer = ClickScorer(features, model, version="test")
    data = browser_slates(scorer, world.run(days=1, record_candidates=True), n_users=3, sessions_per_user=2)
    data["model"] = "click-model.onnx"
    return scorer, data, to_onnx(model, data["n_features"])


def _serve(folder: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def page_url(tmp_path_factory, scorer_and_data):
    missing = [f for f in RUNTIME_FILES if not (RUNTIME / f).exists()]
    if missing:
        pytest.fail(f"onnxruntime-web is not vendored ({missing} missing in {RUNTIME}): run `make vendor`")
    _, data, onnx_bytes = scorer_and_data
    static = tmp_path_factory.mktemp("site") / "_static"
    shutil.copytree(PAGE, static / "edge")
    shutil.copytree(RUNTIME, static / "onnxruntime-web")
    (static / "edge-model").mkdir()
    (static / "edge-model" / "click-model.onnx").write_bytes(onnx_bytes)
    (static / "edge-model" / "slates.json").write_text(json.dumps(data))
    server = _serve(static.parent)
    yield f"http://127.0.0.1:{server.server_address[1]}/_static/edge/ranker.html"
    server.shutdown()


def _shown(tab, key: str) -> list[tuple[int, float, float]]:
    tab.wait_for_function(f"() => document.body.dataset.state === 'ranked' && document.body.dataset.key === '{key}'",
                          timeout=30_000)
    return tab.evaluate("""() => [...document.querySelectorAll('#slate tbody tr')].map(
        tr => [Number(tr.dataset.itemId), Number(tr.dataset.browserScore), Number(tr.dataset.pythonScore)])""")


def _check_parity(probe, url, scorer, data):
    wasm = []
    probe.page.on("response", lambda r: wasm.append(r.url) if r.url.endswith(".wasm") else None)
    tab = probe.open(url)
    requests = [(u, s) for u, user in enumerate(data["users"]) for s in range(len(user["sessions"]))]
    assert len(requests) >= 3
    for u, s in requests:
        if (u, s) != (0, 0):
            tab.select_option("#user", str(u))
            tab.select_option("#moment", str(s))
        shown = _shown(tab, f"{u},{s}")
        session = data["users"][u]["sessions"][s]
        candidates = [{k: c[k] for k in ("item_id", "price", "category", "brand", "rating", "listed_at")}
                      for c in session["candidates"]]
        python = {r["item_id"]: r["score"] for r in scorer.rank(session["context"], candidates)}  # scored again here
        assert sorted(i for i, _, _ in shown) == sorted(python), "the page shows other items than the session's"
        browser = np.array([b for _, b, _ in shown])
        assert np.abs(browser - [python[i] for i, _, _ in shown]).max() <= 1e-5
        assert np.all(np.diff(browser) <= 0), "the page's slate is not ranked by its scores"
        assert np.abs(np.array([p for _, _, p in shown]) - [python[i] for i, _, _ in shown]).max() <= 1e-12
    assert wasm and all("onnxruntime-web/ort-wasm-simd-threaded.wasm" in w for w in wasm), wasm
    assert "largest difference from the Python scores" in tab.inner_text("#status")
    assert not probe.problems(), "\n".join(probe.problems())


def test_the_browser_ranks_with_the_python_scores_offline(probe, page_url, scorer_and_data):
    scorer, data, _ = scorer_and_data
    _check_parity(probe, page_url, scorer, data)


def test_a_broken_model_is_said_on_the_page(probe, page_url):
    """If the model cannot load, the page says so instead of showing an empty table."""
    probe.context.route("**/click-model.onnx", lambda route: route.fulfill(status=200, body=b"not a model"))
    tab = probe.open(page_url)
    tab.wait_for_function("() => document.body.dataset.state === 'failed'", timeout=30_000)
    assert "could not run" in tab.inner_text("#status")


def test_the_built_site_serves_the_page_with_its_model(probe, base_url):
    """The page of the built site (``make book`` builds its model and data) shows the Python scores."""
    built = SITE / "_static" / "edge-model" / "slates.json"
    if not (SITE / "_static" / "edge" / "ranker.html").exists() or not built.exists():
        pytest.fail(f"the built site at {SITE} has no browser page: run `make book`")
    data = json.loads(built.read_text())
    tab = probe.open(base_url + "_static/edge/ranker.html")
    for u, s in [(0, 0), (len(data["users"]) - 1, len(data["users"][-1]["sessions"]) - 1)]:
        tab.select_option("#user", str(u))
        tab.select_option("#moment", str(s))
        shown = _shown(tab, f"{u},{s}")
        expected = {c["item_id"]: c["python_score"] for c in data["users"][u]["sessions"][s]["candidates"]}
        assert np.abs(np.array([b - expected[i] for i, b, _ in shown])).max() <= 1e-5
    assert not probe.problems(), "\n".join(probe.problems())


def test_opened_from_a_file_the_page_says_to_serve_it(probe):
    """Browsers do not load module scripts or the model from file:// pages; the page says so rather than
    staying on "Loading the model…"."""
    context = probe.context.browser.new_context()  # the probe allows only the local server, not file://
    try:
        tab = context.new_page()
        tab.goto((PAGE / "ranker.html").as_uri())
        tab.wait_for_function("() => document.body.dataset.state === 'failed'", timeout=30_000)
        assert "make serve" in tab.inner_text("#status")
    finally:
        context.close()
