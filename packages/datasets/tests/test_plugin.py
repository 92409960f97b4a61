import subprocess
import sys

from cosmos_core.registry import DatasetRegistry
from cosmos_datasets import plugin
from cosmos_datasets.config import SingleDatasetConfig


def test_plugin_import_is_cheap():
    heavy = "{'torch', 'av', 'decord', 'numpy'}"
    code = f"import sys, cosmos_datasets.plugin; print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_registers_every_dataset_type_of_the_seed():
    registry = DatasetRegistry()
    plugin.cosmos_register_datasets(registry)
    assert registry.names() == sorted(["mock", "vad_r1", "vad_r1_chunks", "msrvtt", "kinetics", "http"])
    assert all(entry.help for entry in registry.entries())
    dataset = registry.get("mock")(SingleDatasetConfig(num_samples=3, resolution=[8, 8]), training=True)
    assert len(dataset) == 3 and dataset[0]["video"].shape == (8, 3, 8, 8)


def test_entry_point_and_hookspecs_match():
    import importlib.metadata

    import pluggy
    from cosmos_core import hookspecs

    (entry_point,) = [
        ep for ep in importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP) if ep.name == "datasets"
    ]
    assert entry_point.load() is plugin
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name="datasets")
    manager.check_pending()
    registry = DatasetRegistry()
    manager.hook.cosmos_register_datasets(registry=registry)
    assert "vad_r1" in registry
