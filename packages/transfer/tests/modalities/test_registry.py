"""Every built-in control modality is registered by the plugin, each from its own module."""

from __future__ import annotations

from cosmos_core.plugins import load_plugins

BUILT_IN = {
    "edge": (None, None),
    "vis": (None, None),
    "upscale": (None, None),
    "depth": ("depth", ".mp4"),
    "hdmap": ("hdmap", ".mp4"),
    "lidar": ("lidar", ".mp4"),
    "seg": ("seg", ".pickle"),
    "keypoint": ("keypoint", ".pickle"),
}


def test_built_in_modalities():
    registry = load_plugins().registries["control_modalities"]
    assert set(BUILT_IN) <= set(registry.names())
    for name, (folder, suffix) in BUILT_IN.items():
        entry = registry.entry(name)
        modality = entry.obj
        assert (modality.name, modality.folder, modality.suffix, modality.channels) == (name, folder, suffix, 3)
        assert modality.hint_key == f"control_input_{name}"
        assert type(modality).__module__ == f"cosmos_transfer.modalities.{name}"
        assert entry.plugin == "transfer" and entry.help
