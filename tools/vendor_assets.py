#!/usr/bin/env python3
"""Fetch the browser scripts the book serves itself, so that the site works offline.

Jupyter Book pages normally load require.js, the ipywidgets HTML manager and MathJax from public
CDNs, and chapter 7's browser page needs ONNX Runtime Web. This script fetches pinned releases of
them once with the ordinary npm client (``npm pack NAME@VERSION``, which goes through whatever
registry or mirror the user has configured: no address is written here), checks each tarball
against the integrity hash recorded below (the sha512 npm's lock files use), and unpacks the files
the site needs into ``book/_vendor`` (copied into ``_build/html/_static``). Tarballs are cached in ``~/.cache/dmls-book`` so that fresh clones
do not fetch them again; a cached tarball is checked again every time it is used.

Usage: vendor_assets.py [DEST]      (default: book/_vendor next to this repository's root)
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import subprocess
import tempfile
from pathlib import Path

#: name, version, sha512 integrity, and which members of the tarball go where under DEST.
ASSETS = [
    {
        "name": "requirejs", "version": "2.3.8",
        "integrity": "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        "members": {"package/require.js": "require.js"},
    },
    {
        # 1.x is the embedding manager for ipywidgets 8 (controls 2.0.0, output 1.0.0 models).
        "name": "@jupyter-widgets/html-manager", "version": "1.0.15",
        "integrity": "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        # The bundle loads its icon fonts from its own folder.
        "members": {"package/dist/embed-amd.js": "jupyter-widgets/embed-amd.js",
                    "package/dist/*.woff2": "jupyter-widgets/", "package/dist/*.woff": "jupyter-widgets/",
                    "package/dist/*.ttf": "jupyter-widgets/", "package/dist/*.eot": "jupyter-widgets/",
                    "package/dist/*.svg": "jupyter-widgets/"},
    },
    {
        # MathJax 3 is what Sphinx 7 configures; it loads its components and fonts relative to itself.
        "name": "mathjax", "version": "3.2.2",
        "integrity": "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "members": {"package/es5/tex-mml-chtml.js": "mathjax/tex-mml-chtml.js",
                    "package/es5/input/": "mathjax/input/", "package/es5/output/chtml/": "mathjax/output/chtml/",
                    "package/es5/output/chtml.js": "mathjax/output/chtml.js",
                    "package/es5/a11y/": "mathjax/a11y/", "package/es5/ui/": "mathjax/ui/",
                    "package/es5/sre/": "mathjax/sre/", "package/es5/adaptors/": "mathjax/adaptors/"},
    },
    {
        # Chapter 7 ("ML in Browsers"): the page where the reader's browser runs the click model.
        # The WASM backend needs only its ES-module entry point and the SIMD build it loads
        # (14 MB of the 33 MB tarball); the page asks for one thread, as a site without
        # cross-origin isolation headers gets anyway.
        "name": "onnxruntime-web", "version": "1.30.0",
        "integrity": "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==",
        "members": {"package/dist/ort.wasm.min.mjs": "onnxruntime-web/ort.wasm.min.mjs",
                    "package/dist/ort-wasm-simd-threaded.mjs": "onnxruntime-web/ort-wasm-simd-threaded.mjs",
                    "package/dist/ort-wasm-simd-threaded.wasm": "onnxruntime-web/ort-wasm-simd-threaded.wasm"},
    },
]
STAMP = "ASSETS.json"


def npm_pack(name: str, version: str) -> bytes:
    """The package's tarball as ``npm pack`` fetches it (through the configured registry)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"{name}@{version}: npm is needed to fetch the site's browser scripts once "
                         "(install Node.js and npm, or copy the tarballs into ~/.cache/dmls-book)")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"npm pack {name}@{version}", file=sys.stderr)
        done = subprocess.run([npm, "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"{name}@{version}: npm pack failed: {done.stderr.strip()[-500:]}")
        filename = json.loads(done.stdout)[0]["filename"]
        return (Path(tmp) / filename).read_bytes()


def fetch(asset: dict, cache: Path) -> bytes:
    algo, _, expected = asset["integrity"].partition("-")
    path = cache / f"{asset['name'].replace('/', '__')}-{asset['version']}.tgz"
    data = path.read_bytes() if path.exists() else npm_pack(asset["name"], asset["version"])
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        path.unlink(missing_ok=True)
        raise SystemExit(f"{asset['name']}@{asset['version']}: integrity check failed ({algo} {digest} != {expected})")
    cache.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return data


def _matches(member: str, pattern: str) -> bool:
    if pattern.endswith("/"):
        return member.startswith(pattern)
    if "*" in pattern:
        folder, _, suffix = pattern.rpartition("/*")
        return member.startswith(folder + "/") and "/" not in member[len(folder) + 1:] and member.endswith(suffix)
    return member == pattern


def unpack(data: bytes, members: dict[str, str], dest: Path) -> int:
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar.getmembers():
            if not info.isfile():
                continue
            for pattern, target in members.items():
                if not _matches(info.name, pattern):
                    continue
                if target.endswith("/"):
                    rel = info.name[len(pattern):] if pattern.endswith("/") else info.name.rsplit("/", 1)[1]
                    out = dest / target / rel
                else:
                    out = dest / target
                if ".." in out.relative_to(dest).parts:
                    raise SystemExit(f"refusing to write outside {dest}: {info.name}")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(info).read())
                count += 1
                break
    return count


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    dest = Path(argv[1]) if len(argv) > 1 else root / "book" / "_vendor"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dmls-book"
    wanted = {a["name"]: a["version"] for a in ASSETS}
    stamp = dest / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return 0
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for asset in ASSETS:
        n = unpack(fetch(asset, cache), asset["members"], tmp)
        if n == 0:
            raise SystemExit(f"{asset['name']}@{asset['version']}: none of the expected files are in the tarball")
        print(f"{asset['name']}@{asset['version']}: {n} files", file=sys.stderr)
    (tmp / STAMP).write_text(json.dumps(wanted, indent=1))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
