"""House rules for lib/dmls that a machine can check."""
import importlib
import inspect
import pkgutil

import pytest

import dmls


def public_objects():
    for info in pkgutil.walk_packages(dmls.__path__, "dmls."):
        module = importlib.import_module(info.name)
        assert module.__doc__ and "chapter" in module.__doc__.lower(), f"{info.name}: module docstring names no chapter"
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if getattr(obj, "__module__", None) == module.__name__:
                yield f"{module.__name__}.{name}", obj


@pytest.mark.parametrize("name, obj", list(public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_objects_say_which_chapter_introduces_them(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    assert "chapter" in doc.lower(), f"{name}: the docstring should name the chapter that introduces it"
