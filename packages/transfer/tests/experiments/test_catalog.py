"""Every reference experiment under its exact name, project and group; every entry resolves to a config."""

from __future__ import annotations

from cosmos_core.config.loader import structure
from cosmos_transfer.experiments.catalog import EXPERIMENTS
from cosmos_transfer.experiments.config import TransferExperiment

LVG = [
    f"CTRL_7Bv1pt3_lvg_tp_121frames_control_input_{mod}_block3_{phase}"
    for mod in ("vis", "edge", "depth", "seg", "keypoint", "upscale")
    for phase in ("pretrain", "posttrain")
]
AV = [
    f"CTRL_7Bv1pt3_t2w_{frames}frames_control_input_{mod}_block3_{phase}"
    for mod in ("hdmap", "lidar")
    for frames in (121, 57)
    for phase in ("pretrain", "posttrain")
] + [
    f"CTRL_7Bv1pt3_{mode}_sv2mv_57frames_control_input_{mod}_block3_{phase}"
    for mod in ("hdmap", "lidar")
    for mode in ("t2w", "v2w")
    for phase in ("pretrain", "posttrain")
]


def config(name: str) -> TransferExperiment:
    return structure(TransferExperiment, EXPERIMENTS.get(name), name)


def test_the_28_reference_experiments_are_registered_under_their_names():
    names = EXPERIMENTS.names()
    assert set(LVG) | set(AV) <= set(names)
    assert len([n for n in names if n.startswith("CTRL_7B") and "_1gpu_" not in n]) == 28
    assert all(n.startswith(("CTRL_7B", "CTRL_tiny_")) for n in names)


def test_projects_groups_and_load_paths_follow_the_reference():
    post = config("CTRL_7Bv1pt3_lvg_tp_121frames_control_input_upscale_block3_posttrain")
    assert (post.job.project, post.job.group) == ("cosmos_transfer1_posttrain", "CTRL_7Bv1_lvg")
    assert post.checkpoint.load_path == "checkpoints/nvidia/Cosmos-Transfer1-7B/checkpoints_tp/4kupscaler_control.pt"
    assert post.model.hint_key == "control_input_upscale"
    pre = config("CTRL_7Bv1pt3_lvg_tp_121frames_control_input_seg_block3_pretrain")
    assert (pre.job.project, pre.checkpoint.load_path) == ("cosmos_transfer1_pretrain", "")
    assert pre.model.base_load_from == "checkpoints/nvidia/Cosmos-Transfer1-7B/checkpoints_tp/base_model_model_mp_*.pt"
    assert (pre.optimizer.lr, pre.optimizer.weight_decay, pre.optimizer.betas) == (2**-14.3, 0.1, [0.9, 0.99])
    assert pre.scheduler.warm_up_steps == [2500] and pre.model.hint_dropout_rate == 0.3
    assert pre.model_parallel.tensor_model_parallel_size == 8 and pre.checkpoint.save_iter == 1000
    av = config("CTRL_7Bv1pt3_t2w_57frames_control_input_lidar_block3_posttrain")
    assert av.job.group == "CTRL_7Bv1_sampleAV" and av.model.latent_shape == [16, 8, 88, 160]
    assert (av.model.net.in_channels, av.model.net_ctrl.hint_channels, av.model.hint_dropout_rate) == (16, 16, 0.15)
    assert av.checkpoint.load_path.endswith("Cosmos-Transfer1-7B-Sample-AV/checkpoints_tp/lidar_control.pt")
    assert av.model.conditioner.video_cond_bool.first_random_n_num_condition_t_max == 0
    mv = config("CTRL_7Bv1pt3_v2w_sv2mv_57frames_control_input_hdmap_block3_posttrain")
    assert mv.model.n_views == 3 and mv.checkpoint.load_path.endswith("checkpoints_tp/v2w_hdmap_control.pt")


def test_tiny_experiments_run_on_a_cpu():
    tiny = config("CTRL_tiny_lvg_17frames_control_input_edge_block3_pretrain")
    assert tiny.model.net.preset == "tiny" and tiny.model_parallel.tensor_model_parallel_size == 1
    assert tiny.dataloader_train.dataset.num_frames == 17 and tiny.dataloader_train.dataset.resolution == "64"
    assert (
        tiny.model.finetune_base_model
        and not config(tiny.job.name.replace("pretrain", "posttrain")).model.finetune_base_model
    )


def test_entries_are_copies():
    entry = EXPERIMENTS.get(LVG[0])
    entry["job"]["name"] = "changed"
    assert EXPERIMENTS.get(LVG[0])["job"]["name"] == LVG[0]


def test_the_single_gpu_post_training_variants_fit_80_gb_by_the_estimate():
    from cosmos_transfer.runtime import loop_precision, loop_settings
    from cosmos_transfer.tasks.summary import memory_estimate

    names = [n for n in EXPERIMENTS.names() if "_1gpu_" in n]
    assert names == [
        f"CTRL_7Bv1pt3_lvg_1gpu_121frames_control_input_{mod}_block3_posttrain"
        for mod in ("vis", "edge", "depth", "seg", "keypoint", "upscale")
    ]
    one = config(names[1])
    assert one.model_parallel.tensor_model_parallel_size == 1 and one.model.activation_checkpointing
    assert (one.model.precision, one.optimizer.master_weights) == ("bfloat16", True)
    assert one.model.base_load_from == "checkpoints/nvidia/Cosmos-Transfer1-7B/base_model.pt"
    assert one.checkpoint.load_path == "checkpoints/nvidia/Cosmos-Transfer1-7B/edge_control.pt"
    assert loop_precision(one) == "bf16_weights" and loop_settings(one, seed=0).optimizer.master_weights
    estimate = memory_estimate(one)
    total = float(next(line for line in estimate.splitlines() if line.strip().startswith("total")).split()[1])
    assert "tp 1, FSDP 1" in estimate and "checkpointing on" in estimate and total < 80
