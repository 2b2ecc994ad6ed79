"""Sphinx extension: keep the site self-contained and its pages free of console errors.

- Warns (and so fails a ``-W`` build) when a page would load a script or stylesheet from
  another host: the book must work offline, from an intranet or an archive.
- Drops repeated inline scripts: sphinx-thebe registers its configuration script once per
  build pass, and a repeated ``const`` declaration is a JavaScript error on every page.
- Tells require.js where the vendored ipywidgets bundle lives, so that it finds its fonts
  (they would be looked for next to the page).
- Lets ipywidgets typeset labels with MathJax 3: the widget bundle calls MathJax 2's
  ``MathJax.Hub.Queue``, which MathJax 3 replaced with ``MathJax.typesetPromise``.
"""
from __future__ import annotations

from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGETS_BUNDLE = "jupyter-widgets/embed-amd.js"

# Runs before require.js, which reads a global ``require`` as its configuration. Webpack bundles in
# the widget manager find their fonts next to the URI require.js gives their module; map every
# @jupyter-widgets module (the manager and the controls it defines) to the vendored folder.
_WIDGET_ASSETS = """(function () {
  var folder = new URL((document.documentElement.dataset.content_root || '') + '_static/jupyter-widgets',
                       document.baseURI).href;
  window.require = {paths: {'@jupyter-widgets/html-manager/dist': folder, '@jupyter-widgets': folder}};
})();"""

# Runs after Sphinx's MathJax configuration and before MathJax itself (which is deferred).
_MATHJAX2_SHIM = """(function () {
  function queue(cmd) {
    var mj = window.MathJax, el = cmd && cmd[2];
    if (mj && mj.typesetPromise) { mj.typesetPromise(el ? [el] : undefined).catch(function () {}); }
  }
  var config = window.MathJax || {};
  var startup = config.startup || {};
  startup.ready = function () { MathJax.startup.defaultReady(); MathJax.Hub = {Queue: queue}; };
  config.startup = startup;
  config.Hub = {Queue: queue};  // before MathJax starts; its first pass typesets the whole page
  window.MathJax = config;
})();"""


def _is_remote(url: str | None) -> bool:
    return bool(url) and ("://" in url or url.startswith("//"))


def _filename(script) -> str:
    return getattr(script, "filename", script) or ""  # inline scripts have "" or None


def _on_page(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    names = [_filename(s) for s in scripts]
    if any(n.endswith(WIDGETS_BUNDLE) for n in names):
        app.builder.add_js_file("", priority=400, body=_WIDGET_ASSETS)
        if any("mathjax" in n for n in names):
            app.builder.add_js_file("", priority=501, body=_MATHJAX2_SHIM)
    scripts = context["script_files"]
    seen, kept = set(), []
    for script in scripts:
        key = (_filename(script), getattr(script, "attributes", {}).get("body", ""))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
        if _is_remote(key[0]):
            logger.warning("page %s loads a script from another host: %s", pagename, key[0],
                           type="offline_site", subtype="remote")
    scripts[:] = kept
    for css in context.get("css_files") or []:
        if _is_remote(_filename(css)):
            logger.warning("page %s loads a stylesheet from another host: %s", pagename, _filename(css),
                           type="offline_site", subtype="remote")


def setup(app):
    app.connect("html-page-context", _on_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
