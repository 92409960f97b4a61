import pytest
from cosmos_core.registry import DatasetRegistry, RegistryError, closest


def test_add_and_get_records_provenance():
    registry = DatasetRegistry()
    registry.bind("myplugin", "my-dist 1.0")
    registry.add("folder", object, help="videos in a folder")
    entry = registry.entry("folder")
    assert entry.obj is object
    assert (entry.plugin, entry.distribution, entry.help) == ("myplugin", "my-dist 1.0", "videos in a folder")
    assert "folder" in registry and registry.names() == ["folder"]


def test_duplicate_name_names_both_plugins():
    registry = DatasetRegistry()
    registry.bind("first", "dist-a 1.0")
    registry.add("vad_r1", 1)
    registry.bind("second", "dist-b 2.0")
    with pytest.raises(RegistryError) as info:
        registry.add("vad_r1", 2)
    message = str(info.value)
    assert "'first'" in message and "dist-a 1.0" in message
    assert "'second'" in message and "dist-b 2.0" in message


def test_unknown_name_suggests_closest_and_lists_all():
    registry = DatasetRegistry()
    for name in ("mock", "vad_r1", "msrvtt"):
        registry.add(name, name)
    with pytest.raises(RegistryError) as info:
        registry.get("vad_r2")
    message = str(info.value)
    assert "Did you mean 'vad_r1'" in message
    assert "mock, msrvtt, vad_r1" in message


def test_closest_returns_none_when_nothing_is_near():
    assert closest("zzzz", ["mock", "vad_r1"]) is None
