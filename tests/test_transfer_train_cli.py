"""Cosmos-Transfer1 training through the real CLI: the seed's experiment names and dry run, the summary's
published counts, tiny training with the reference's checkpoint names, auto-resume that continues
exactly, post-training that loads the control strictly, and the errors of missing weights."""

from __future__ import annotations

import pytest
import torch
from cosmos_core.cli import main
from cosmos_transfer.data.shapes import write_shapes_dataset
from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
from cosmos_transfer.training.tokenizers import save_autoencoder

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("transfer_train")]

TINY = "CTRL_tiny_lvg_17frames_control_input_edge_block3"
EDGE_7B = "CTRL_7Bv1pt3_lvg_tp_121frames_control_input_edge_block3"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder with the tiny experiments' dataset and an (untrained) autoencoder at their paths."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTPUT_ROOT", raising=False)
    write_shapes_dataset("datasets/tiny_shapes", clips=4, num_frames=17, random_t5=True)
    torch.manual_seed(0)
    save_autoencoder(VideoAutoencoder(), tmp_path / "checkpoints" / "tiny" / "video_autoencoder.pt")
    return tmp_path


def job(root, phase: str = "pretrain"):
    return root / "checkpoints" / f"cosmos_transfer1_tiny_{phase}" / "CTRL_tiny_lvg" / f"{TINY}_{phase}"


def train(*overrides: str) -> int:
    return main(["cosmos-transfer1", "train", "--", *overrides])


def test_the_seed_command_dry_runs_to_the_job_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OUTPUT_ROOT", str(tmp_path))
    assert main(["cosmos-transfer1", "train", "--dryrun", "--", f"experiment={EDGE_7B}_pretrain"]) == 0
    folder = tmp_path / "cosmos_transfer1_pretrain" / "CTRL_7Bv1_lvg" / f"{EDGE_7B}_pretrain"
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml"]
    text = (folder / "config.yaml").read_text()
    assert "tensor_model_parallel_size: 8" in text and "hint_key: control_input_edge" in text
    assert f"dry run: config written to {folder / 'config.yaml'}" in capsys.readouterr().out
    assert main(["cosmos-transfer1", "train", "--dryrun", "--", f"experiment={EDGE_7B}_posttrain"]) == 0
    posttrain = tmp_path / "cosmos_transfer1_posttrain" / "CTRL_7Bv1_lvg" / f"{EDGE_7B}_posttrain" / "config.yaml"
    assert "load_path: checkpoints/nvidia/Cosmos-Transfer1-7B/checkpoints_tp/edge_control.pt" in posttrain.read_text()


def test_summary_prints_the_published_counts(capsys):
    assert main(["cosmos-transfer1", "summary", "--", f"experiment={EDGE_7B}_pretrain"]) == 0
    out = capsys.readouterr().out
    assert "base DiT parameters:        7,236,208,640 (frozen)" in out
    assert "control branch parameters:  893,497,120 (trainable)" in out
    assert "TP 2: 528,592,672" in out and "TP 8: 254,914,336" in out
    assert "per tensor-parallel rank (TP 8): 254,914,336" in out


def test_multi_view_experiments_resolve_but_are_not_trained(capsys):
    name = "CTRL_7Bv1pt3_t2w_sv2mv_57frames_control_input_hdmap_block3_posttrain"
    assert main(["cosmos-transfer1", "summary", "--", f"experiment={name}"]) == 2
    assert "multi-view (sv2mv) networks are not implemented" in capsys.readouterr().err


def test_tiny_training_writes_the_reference_layout_and_a_rerun_resumes_exactly(workdir):
    assert train(f"experiment={TINY}_pretrain", "trainer.max_iter=4", "checkpoint.save_iter=2") == 0
    folder = job(workdir) / "checkpoints"
    assert (folder / "latest_checkpoint.txt").read_text() == "iter_000000004.pt\n"
    for iteration in (2, 4):
        for part in ("model", "optim", "scheduler"):
            assert (folder / f"iter_{iteration:09d}_{part}_mp_0.pt").is_file()
    model_file = torch.load(folder / "iter_000000004_model_mp_0.pt", weights_only=True)
    assert set(model_file) == {"model", "ema"}
    assert "net.zero_blocks.block2.weight" in model_file["model"]
    assert "base_model.net.final_layer.linear.weight" in model_file["model"]
    assert "net-zero_blocks-block2-weight" in model_file["ema"]  # the reference's EMA names

    assert train(f"experiment={TINY}_pretrain", "trainer.max_iter=6", "checkpoint.save_iter=2") == 0  # resumes
    straight = workdir / "straight"
    assert (
        train(f"experiment={TINY}_pretrain", "trainer.max_iter=6", "checkpoint.save_iter=2", "job.name=straight") == 0
    )
    resumed = torch.load(folder / "iter_000000006_model_mp_0.pt", weights_only=True)
    reference = torch.load(
        job(workdir).parent / "straight" / "checkpoints" / "iter_000000006_model_mp_0.pt", weights_only=True
    )
    for part in ("model", "ema"):
        different = [k for k, v in reference[part].items() if not torch.equal(v, resumed[part][k])]
        assert different == [], part
    assert not straight.exists()


def test_bf16_training_holds_bf16_weights_with_fp32_masters_and_resumes_exactly(workdir):
    """``model.precision=bfloat16`` with the reference's ``optimizer.master_weights``: the networks are bf16
    in the model files, the optimizer files hold the fp32 masters, and a resumed run equals a straight one."""
    common = [f"experiment={TINY}_pretrain", "model.precision=bfloat16", "checkpoint.save_iter=2"]
    assert train(*common, "trainer.max_iter=2") == 0
    folder = job(workdir) / "checkpoints"
    model = torch.load(folder / "iter_000000002_model_mp_0.pt", weights_only=True)
    assert {v.dtype for k, v in model["model"].items() if v.is_floating_point() and "freqs" not in k} == {
        torch.bfloat16
    }
    assert {v.dtype for v in model["ema"].values()} == {torch.float32}
    optim = torch.load(folder / "iter_000000002_optim_mp_0.pt", weights_only=True)
    masters = next(value for value in _walk(optim) if isinstance(value, list) and value and torch.is_tensor(value[0]))
    assert {m.dtype for m in masters} == {torch.float32}
    assert train(*common, "trainer.max_iter=4") == 0  # resumes from iteration 2
    assert train(*common, "trainer.max_iter=4", "job.name=straight") == 0
    resumed = torch.load(folder / "iter_000000004_model_mp_0.pt", weights_only=True)
    straight = torch.load(job(workdir).parent / "straight" / "checkpoints" / "iter_000000004_model_mp_0.pt")
    for part in ("model", "ema"):
        assert [k for k, v in straight[part].items() if not torch.equal(v, resumed[part][k])] == [], part


def _walk(tree):
    """Every value of nested dicts."""
    if isinstance(tree, dict):
        for value in tree.values():
            yield value
            yield from _walk(value)


def test_post_training_loads_the_control_strictly_and_names_missing_files(workdir, capsys):
    assert train(f"experiment={TINY}_posttrain", "trainer.max_iter=1") == 2
    err = capsys.readouterr().err
    assert "model.base_load_from: checkpoints/tiny/base_model.pt not found" in err
    assert "cosmos-run cosmos-transfer1 convert_tp" in err

    assert train(f"experiment={TINY}_pretrain", "trainer.max_iter=2", "checkpoint.save_iter=2") == 0
    trained = torch.load(job(workdir) / "checkpoints" / "iter_000000002_model_mp_0.pt", weights_only=True)["model"]
    base = {k.removeprefix("base_model."): v for k, v in trained.items() if k.startswith("base_model.")}
    control = {k: v for k, v in trained.items() if k.startswith("net.")}
    torch.save(base, workdir / "checkpoints" / "tiny" / "base_model.pt")
    torch.save({**control, "net.unexpected": torch.zeros(1)}, workdir / "checkpoints" / "tiny" / "edge_control.pt")
    assert train(f"experiment={TINY}_posttrain", "trainer.max_iter=1") == 2
    err = capsys.readouterr().err
    assert "edge_control.pt: does not match the control branch" in err and "1 unexpected: unexpected" in err

    torch.save(control, workdir / "checkpoints" / "tiny" / "edge_control.pt")
    assert train(f"experiment={TINY}_posttrain", "trainer.max_iter=1", "checkpoint.save_iter=1") == 0
    post = torch.load(job(workdir, "posttrain") / "checkpoints" / "iter_000000001_model_mp_0.pt", weights_only=True)
    assert torch.equal(post["model"]["base_model.net.final_layer.linear.weight"], base["net.final_layer.linear.weight"])
    assert not any(key.startswith("base_model") for key in post["ema"])  # the base is frozen


def test_generate_writes_a_clip_from_a_control_input_and_a_caption(workdir, capsys):
    assert train(f"experiment={TINY}_pretrain", "trainer.max_iter=2", "checkpoint.save_iter=2") == 0
    video = workdir / "datasets" / "tiny_shapes" / "videos" / "shapes_001.mp4"
    t5 = workdir / "datasets" / "tiny_shapes" / "t5_xxl" / "shapes_001.pickle"
    command = ["cosmos-transfer1", "generate", "--", f"experiment={TINY}_pretrain", "generate.num_steps=3"]
    assert main([*command, f"generate.input_video={video}"]) == 2
    assert "generate.prompt (with generate.t5_model) or generate.t5_pickle is required" in capsys.readouterr().err
    assert main([*command, f"generate.input_video={video}", f"generate.t5_pickle={t5}"]) == 0
    out = capsys.readouterr().out
    assert "with its EMA weights" in out
    folder = job(workdir) / "generate"
    from cosmos_transfer.data.video_io import probe_video

    for name in (f"{TINY}_pretrain.mp4", f"{TINY}_pretrain_control.mp4"):
        probe = probe_video(folder / name)
        assert (probe.num_frames, probe.size) == (17, (64, 64)), name
    assert "config.yaml" in {p.name for p in folder.iterdir()}


def test_tensor_parallel_training_merges_to_one_file_that_generates(workdir):
    """TP 2 under torchrun (the reference's command shape), merge_tp of the training checkpoint, generation."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += ["-m", "cosmos_core.cli", "cosmos-transfer1", "train", "--", f"experiment={TINY}_pretrain"]
    command += ["trainer.max_iter=2", "checkpoint.save_iter=2", "model_parallel.tensor_model_parallel_size=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    folder = job(workdir) / "checkpoints"
    first, second = (torch.load(folder / f"iter_000000002_model_mp_{k}.pt", weights_only=True) for k in (0, 1))
    q = "net.blocks.block0.blocks.0.block.attn.to_q.0.weight"
    assert first["model"][q].shape == (128, 256) and not torch.equal(first["model"][q], second["model"][q])

    assert main(["cosmos-transfer1", "merge_tp", str(folder / "iter_000000002.pt"), "--include-base-model"]) == 0
    merged = job(workdir) / "fsdp_checkpoints" / "iter_000000002_reg_model.pt"
    assert torch.load(merged, weights_only=True)[q].shape == (256, 256)
    video = workdir / "datasets" / "tiny_shapes" / "videos" / "shapes_000.mp4"
    t5 = workdir / "datasets" / "tiny_shapes" / "t5_xxl" / "shapes_000.pickle"
    generate = ["cosmos-transfer1", "generate", "--", f"experiment={TINY}_pretrain", "generate.num_steps=2"]
    generate += [f"generate.checkpoint={merged}", f"generate.input_video={video}", f"generate.t5_pickle={t5}"]
    assert main(generate) == 0
    assert (job(workdir) / "generate" / f"{TINY}_pretrain.mp4").is_file()
