#!/usr/bin/env python3
"""Forget executed outputs when the library or the pinned environment changes.

jupyter-cache re-executes a notebook only when its code cells change, and Sphinx re-reads a
page only when its source file changes; but a chapter's outputs also depend on ``dmls`` and on
the installed versions. This keeps a hash of those in the build folder and, when it differs,
removes the execution cache and Sphinx's saved doctrees, so `make book` never shows stale
outputs.

Usage: cache_key.py BUILD_DIR
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def key() -> str:
    h = hashlib.sha256()
    files = sorted((ROOT / "lib").rglob("*.py")) + [ROOT / "requirements.lock", ROOT / "pyproject.toml"]
    for path in files:
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


STALE = (".jupyter_cache", ".doctrees", "jupyter_execute")


def main(build_dir: str) -> int:
    build = Path(build_dir)
    stamp = build / ".dmls-key"
    current = key()
    if stamp.exists() and stamp.read_text() != current:
        print("lib/ or the lock file changed: notebooks will be executed again")
        for name in STALE:
            shutil.rmtree(build / name, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
