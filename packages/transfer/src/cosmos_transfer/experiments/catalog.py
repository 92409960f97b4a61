"""Every experiment the reference registers, under its exact name, project and group, plus tiny CPU ones.

``experiment=NAME`` starts from the entry's config (over the schema's defaults, which are the 7B lvg
values); ``-e SPEC`` and the other overrides apply after it. Sources (transfer1_layout.md §5):

- ``ctrl_7b_tp_121frames.py``: ``CTRL_7Bv1pt3_lvg_tp_121frames_control_input_<mod>_block3_<phase>`` for
  vis, edge, depth, seg, keypoint, upscale; group ``CTRL_7Bv1_lvg``;
- ``ctrl_7b_tp_sample_av.py``: ``CTRL_7Bv1pt3_t2w_{121,57}frames_control_input_{hdmap,lidar}_block3_<phase>``
  (text-to-world: 16 input channels, 16 hint channels, no conditioning frames, hint dropout 0.15);
- ``ctrl_7b_tp_sample_av_mv.py``: ``CTRL_7Bv1pt3_{t2w,v2w}_sv2mv_57frames_control_input_{hdmap,lidar}_block3_<phase>``
  (three-view networks: registered so their configs resolve and dry-run; training them is refused);
- cosmos-run's single-GPU post-training variants,
  ``CTRL_7Bv1pt3_lvg_1gpu_121frames_control_input_<mod>_block3_posttrain``
  (beyond the reference, which needs 8 GPUs): TP 1, activation checkpointing of every block, the whole
  network in bf16 with fp32 master weights, the released consolidated ``base_model.pt`` and
  ``<mod>_control.pt`` read as they are; ``summary`` estimates 66 GiB per GPU at 121 x 704 x 1280;
- the tiny ones, ``CTRL_tiny_lvg_17frames_control_input_<mod>_block3_<phase>``, are cosmos-run's: a 256-wide
  DiT, 17 frames at 64 px, the built-in autoencoder, TP 1, fp32. With no released tiny base, their
  pretrain trains the base too; their posttrain starts from a tiny base and control exported from it.

Projects are ``cosmos_transfer1_pretrain`` / ``cosmos_transfer1_posttrain`` (tiny: ``..._tiny_...``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

RELEASED = "checkpoints/nvidia/Cosmos-Transfer1-7B"
RELEASED_AV = "checkpoints/nvidia/Cosmos-Transfer1-7B-Sample-AV"
RELEASED_MV = "checkpoints/nvidia/Cosmos-Transfer1-7B-Sample-AV-Single2MultiView"
PHASES = ("pretrain", "posttrain")
LVG_MODALITIES = ("vis", "edge", "depth", "seg", "keypoint", "upscale")
AV_MODALITIES = ("hdmap", "lidar")
CONTROL_BASENAMES = {
    "vis": "vis_control.pt",
    "edge": "edge_control.pt",
    "depth": "depth_control.pt",
    "seg": "seg_control.pt",
    "keypoint": "keypoint_control.pt",
    "upscale": "4kupscaler_control.pt",
    "hdmap": "hdmap_control.pt",
    "lidar": "lidar_control.pt",
}
"""``default_model_names`` of the reference's ``inference_utils.py``."""

TINY_ROOT = "checkpoints/tiny"
TINY_TOKENIZER = f"{TINY_ROOT}/video_autoencoder.pt"
TINY_DATASET = "datasets/tiny_shapes"


def _job(name: str, phase: str, group: str, project_prefix: str = "cosmos_transfer1") -> dict[str, Any]:
    return {"project": f"{project_prefix}_{phase}", "group": group, "name": name}


def _latent_shape(num_frames: int, height: int = 88, width: int = 160) -> list[int]:
    return [16, (num_frames - 1) // 8 + 1, height, width]


def lvg_7b(modality: str, phase: str) -> tuple[str, dict[str, Any]]:
    name = f"CTRL_7Bv1pt3_lvg_tp_121frames_control_input_{modality}_block3_{phase}"
    load = f"{RELEASED}/checkpoints_tp/{CONTROL_BASENAMES[modality]}" if phase == "posttrain" else ""
    return name, {
        "job": _job(name, phase, "CTRL_7Bv1_lvg"),
        "checkpoint": {"load_path": load},
        "model": {"hint_key": f"control_input_{modality}"},
    }


def lvg_7b_one_gpu(modality: str) -> tuple[str, dict[str, Any]]:
    name = f"CTRL_7Bv1pt3_lvg_1gpu_121frames_control_input_{modality}_block3_posttrain"
    return name, {
        "job": _job(name, "posttrain", "CTRL_7Bv1_lvg"),
        "checkpoint": {"load_path": f"{RELEASED}/{CONTROL_BASENAMES[modality]}"},
        "model_parallel": {"tensor_model_parallel_size": 1, "sequence_parallel": False},
        "optimizer": {"master_weights": True},
        "model": {
            "hint_key": f"control_input_{modality}",
            "base_load_from": f"{RELEASED}/base_model.pt",
            "precision": "bfloat16",
            "activation_checkpointing": True,
        },
    }


def av_t2w_7b(modality: str, phase: str, num_frames: int) -> tuple[str, dict[str, Any]]:
    name = f"CTRL_7Bv1pt3_t2w_{num_frames}frames_control_input_{modality}_block3_{phase}"
    load = f"{RELEASED_AV}/checkpoints_tp/{CONTROL_BASENAMES[modality]}" if phase == "posttrain" else ""
    return name, {
        "job": _job(name, phase, "CTRL_7Bv1_sampleAV"),
        "checkpoint": {"load_path": load},
        "model": {
            "hint_key": f"control_input_{modality}",
            "net": {"in_channels": 16},
            "net_ctrl": {"in_channels": 16, "hint_channels": 16},
            "hint_dropout_rate": 0.15,
            "latent_shape": _latent_shape(num_frames),
            "base_load_from": f"{RELEASED_AV}/checkpoints_tp/base_model_model_mp_*.pt",
            "conditioner": {"video_cond_bool": {"first_random_n_num_condition_t_max": 0}},
        },
        "dataloader_train": {"dataset": {"dataset_dir": "datasets/waymo_transfer1/", "num_frames": num_frames}},
    }


def av_sv2mv_7b(modality: str, phase: str, mode: str) -> tuple[str, dict[str, Any]]:
    name = f"CTRL_7Bv1pt3_{mode}_sv2mv_57frames_control_input_{modality}_block3_{phase}"
    load = f"{RELEASED_MV}/checkpoints_tp/{mode}_{CONTROL_BASENAMES[modality]}" if phase == "posttrain" else ""
    return name, {
        "job": _job(name, phase, "CTRL_7Bv1_sampleAV"),
        "checkpoint": {"load_path": load},
        "model": {
            "hint_key": f"control_input_{modality}",
            "n_views": 3,
            "net_ctrl": {"in_channels": 16, "hint_channels": 16},
            "hint_dropout_rate": 0.15,
            "latent_shape": _latent_shape(57),
            "base_load_from": f"{RELEASED_MV}/checkpoints_tp/{mode}_base_model_model_mp_*.pt",
            "conditioner": {"video_cond_bool": {"first_random_n_num_condition_t_max": 0 if mode == "t2w" else 2}},
        },
        "dataloader_train": {"dataset": {"dataset_dir": "datasets/waymo_transfer1/", "num_frames": 57}},
    }


def tiny(modality: str, phase: str) -> tuple[str, dict[str, Any]]:
    name = f"CTRL_tiny_lvg_17frames_control_input_{modality}_block3_{phase}"
    posttrain = phase == "posttrain"
    return name, {
        "job": _job(name, phase, "CTRL_tiny_lvg", "cosmos_transfer1_tiny"),
        "trainer": {
            "max_iter": 60,
            "timestamp_seed": False,
            "callbacks": {
                "gradient_clip": {"clip_norm": 1.0},
                "iter_speed": {"every_n": 10},
                "log_losses": {"every_n": 10},
            },
        },
        "checkpoint": {
            "save_iter": 20,
            "load_path": f"{TINY_ROOT}/{CONTROL_BASENAMES[modality]}" if posttrain else "",
        },
        "model_parallel": {"tensor_model_parallel_size": 1, "sequence_parallel": False},
        "optimizer": {"lr": 1e-3, "weight_decay": 0.0},
        "scheduler": {"warm_up_steps": [5]},
        "model": {
            "net": {"preset": "tiny"},
            "hint_key": f"control_input_{modality}",
            "base_load_from": f"{TINY_ROOT}/base_model.pt" if posttrain else "",
            "finetune_base_model": not posttrain,
            "precision": "float32",
            "latent_shape": _latent_shape(17, 8, 8),
            "tokenizer": {"path": TINY_TOKENIZER},
        },
        "dataloader_train": {
            "dataset": {"dataset_dir": TINY_DATASET, "num_frames": 17, "resolution": "64"},
            "batch_size": 2,
            "num_workers": 0,
        },
        "generate": {"num_steps": 12, "guidance": 1.0},
    }


def _build() -> dict[str, dict[str, Any]]:
    entries = []
    for phase in PHASES:
        entries += [lvg_7b(modality, phase) for modality in LVG_MODALITIES]
        entries += [av_t2w_7b(m, phase, frames) for m in AV_MODALITIES for frames in (121, 57)]
        entries += [av_sv2mv_7b(m, phase, mode) for m in AV_MODALITIES for mode in ("t2w", "v2w")]
        entries += [tiny(modality, phase) for modality in LVG_MODALITIES]
    entries += [lvg_7b_one_gpu(modality) for modality in LVG_MODALITIES]
    return dict(entries)


class ExperimentCatalog:
    """The :class:`cosmos_core.family.ExperimentCatalog` of cosmos-transfer1."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def get(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(dict(self._entries[name]))


EXPERIMENTS = ExperimentCatalog(_build())
