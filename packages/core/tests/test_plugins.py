import attrs
import pytest
from cosmos_core.config import option
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
    assert "iter_speed" in host.callbacks
    assert host.callbacks.entry("iter_speed").distribution.startswith("cosmos-core ")
    names = {info.name: info for info in host.plugins()}
    assert names["core"].distribution == "cosmos-core"
    assert "cosmos_register_callbacks" in names["core"].hooks


def test_duplicate_names_between_plugins_fail():
    with pytest.raises(RegistryError, match="registered twice"):
        load_plugins(extra=[FolderPlugin(), ClashingPlugin()])


def test_disable_by_argument_and_environment(monkeypatch):
    assert "iter_speed" not in load_plugins(disabled=["core"]).callbacks
    monkeypatch.setenv("COSMOS_DISABLE_PLUGINS", "core")
    host = load_plugins()
    assert "iter_speed" not in host.callbacks
    assert host.blocked == ("core",)


def test_plugin_failing_to_register_is_named():
    with pytest.raises(PluginLoadError, match="failed in cosmos_register_datasets"):
        load_plugins(extra=[BrokenPlugin()])


def test_each_run_gets_a_fresh_manager():
    first = load_plugins(extra=[FolderPlugin()])
    second = load_plugins()
    assert "folder_of_videos" in first.datasets
    assert "folder_of_videos" not in second.datasets


@attrs.frozen
class FolderOptions:
    caption_suffix: str = option(".txt", help="sidecar caption extension")


class OptionsPlugin:
    @hookimpl
    def cosmos_register_datasets(self, registry):
        registry.add("with_options", lambda cfg, training, options: options, help="x", options=FolderOptions)


def test_a_dataset_type_may_declare_options_of_its_own():
    entry = load_plugins(extra=[OptionsPlugin()]).datasets.entry("with_options")
    assert entry.options is FolderOptions
    with pytest.raises(PluginLoadError, match="must be an attrs class"):
        load_plugins(extra=[BadOptionsPlugin()])


class BadOptionsPlugin:
    @hookimpl
    def cosmos_register_datasets(self, registry):
        registry.add("bad_options", lambda cfg, training: None, options=dict)
