"""Every hook is documented the way pytest documents its hooks, and has a typed registry."""

import inspect

from cosmos_core import hookspecs
from cosmos_core.registry import REGISTRY_CLASSES

HOOKS = [name for name in dir(hookspecs) if name.startswith("cosmos_register_")]


def test_every_hook_is_exported_documented_and_takes_its_registry():
    assert sorted(HOOKS) == sorted(name for name in hookspecs.__all__ if name.startswith("cosmos_"))
    for name in HOOKS:
        function = getattr(hookspecs, name)
        doc = inspect.getdoc(function) or ""
        assert ":param registry:" in doc, name
        assert list(inspect.signature(function).parameters) == ["registry"], name


def test_each_hook_kind_has_a_registry_class():
    assert {f"cosmos_register_{kind}" for kind in REGISTRY_CLASSES} == set(HOOKS)
