"""The build helpers in tools/."""
import json
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    return runpy.run_path(str(ROOT / "tools" / name))


def test_cache_key_forgets_outputs_only_when_lib_or_lock_change(tmp_path):
    tool = load("cache_key.py")
    build = tmp_path / "_build"
    for name in (".jupyter_cache", ".doctrees", "jupyter_execute"):
        (build / name).mkdir(parents=True)
    assert tool["main"](str(build)) == 0  # first run: nothing to compare with, nothing removed
    assert (build / ".jupyter_cache").exists()
    assert tool["main"](str(build)) == 0  # same key: kept
    assert (build / ".doctrees").exists()
    (build / ".dmls-key").write_text("another key")
    assert tool["main"](str(build)) == 0
    assert not any((build / n).exists() for n in (".jupyter_cache", ".doctrees", "jupyter_execute"))
    assert (build / ".dmls-key").read_text() == tool["key"]()


def test_environment_file_is_written_from_the_lock(tmp_path):
    tool = load("write_environment.py")
    lock = tmp_path / "requirements.lock"
    lock.write_text("# header\nnumpy==2.4.6  # via x\npip==26.3  # via y\ntorch==2.13.0+cpu\n")
    env = tmp_path / "environment.yml"
    tool["main"](str(lock), str(env))
    text = env.read_text()
    assert "      - numpy==2.4.6" in text and "      - torch==2.13.0+cpu" in text and "pip==" not in text
    assert "python=3.11" in text


def test_vendored_assets_are_pinned_with_integrity_hashes():
    tool = load("vendor_assets.py")
    for asset in tool["ASSETS"]:
        assert asset["integrity"].startswith("sha512-") and asset["members"]
    stamp = ROOT / "book" / "_vendor" / "ASSETS.json"
    if stamp.exists():
        assert json.loads(stamp.read_text()) == {a["name"]: a["version"] for a in tool["ASSETS"]}


def test_vendoring_goes_through_npm_and_checks_what_it_gets(tmp_path, monkeypatch):
    tool = load("vendor_assets.py")
    source = (ROOT / "tools" / "vendor_assets.py").read_text()
    assert "https://" not in source.split('"""', 2)[2]  # no registry address: npm's configuration decides
    asset = dict(tool["ASSETS"][0])
    cached = tmp_path / f"{asset['name'].replace('/', '__')}-{asset['version']}.tgz"
    cached.write_bytes(b"a tampered tarball")
    with pytest.raises(SystemExit, match="integrity check failed"):
        tool["fetch"](asset, tmp_path)
    assert not cached.exists()  # the bad copy is dropped, so the next run fetches again
    monkeypatch.setattr(tool["shutil"], "which", lambda name: None)
    with pytest.raises(SystemExit, match="npm is needed"):
        tool["npm_pack"](asset["name"], asset["version"])


def test_committed_config_only_turns_execution_off(tmp_path):
    import yaml

    tool = load("committed_config.py")
    path = tool["committed_config"](tmp_path / "build")
    original = yaml.safe_load((ROOT / "_config.yml").read_text())
    written = yaml.safe_load(path.read_text())
    assert written["execute"]["execute_notebooks"] == "off"
    for name, folder in written["sphinx"]["local_extensions"].items():
        assert Path(folder).is_absolute() and Path(folder) == (ROOT / original["sphinx"]["local_extensions"][name])
    for config in (original, written):
        config["execute"].pop("execute_notebooks")
        config["sphinx"].pop("local_extensions")
    assert written == original
