import pytest
from cosmos_core.hookspecs import hookimpl
from cosmos_core.plugins import PluginLoadError, load_plugins
from cosmos_core.registry import RegistryError


class FolderPlugin:
    @hookimpl
    def cosmos_register_datasets(self, registry):
        registry.add("folder_of_videos", lambda cfg, training: None, help="test dataset")


class ClashingPlugin:
    @hookimpl
    def cosmos_register_datasets(self, registry):
        registry.add("folder_of_videos", object)


class BrokenPlugin:
    @hookimpl
    def cosmos_register_datasets(self, registry):
        raise ImportError("needs a library that is not installed")


def test_extra_plugin_registers_with_attribution():
    host = load_plugins(extra=[FolderPlugin()])
    entry = host.datasets.entry("folder_of_videos")
    assert entry.help == "test dataset"
    assert entry.distribution is None  # registered directly, not from an installed distribution


def test_installed_packages_register_through_entry_points():
    host = load_plugins()
    assert "cosmos-embed1" in host.tasks
    assert host.tasks.entry("cosmos-embed1").distribution.startswith("cosmos-embed ")
    assert "mock" in host.datasets
    names = {info.name: info for info in host.plugins()}
    assert names["embed"].distribution == "cosmos-embed"
    assert "cosmos_register_tasks" in names["embed"].hooks


def test_duplicate_names_between_plugins_fail():
    with pytest.raises(RegistryError, match="registered twice"):
        load_plugins(extra=[FolderPlugin(), ClashingPlugin()])


def test_disable_by_argument_and_environment(monkeypatch):
    assert "cosmos-embed1" not in load_plugins(disabled=["embed"]).tasks
    monkeypatch.setenv("COSMOS_DISABLE_PLUGINS", "embed")
    host = load_plugins()
    assert "cosmos-embed1" not in host.tasks
    assert host.blocked == ("embed",)


def test_plugin_failing_to_register_is_named():
    with pytest.raises(PluginLoadError, match="failed in cosmos_register_datasets"):
        load_plugins(extra=[BrokenPlugin()])


def test_each_run_gets_a_fresh_manager():
    first = load_plugins(extra=[FolderPlugin()])
    second = load_plugins()
    assert "folder_of_videos" in first.datasets
    assert "folder_of_videos" not in second.datasets
