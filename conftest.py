"""Test-wide settings: nothing downloads, nothing phones home, GPU tests skip without CUDA, fuzzing has a budget."""

import os

if "PYTEST_XDIST_WORKER" in os.environ:
    # Under `pytest -n N` the N workers already fill the cores: one compute thread each (inherited by
    # the torchrun and CLI subprocesses the tests start) instead of every process taking every core.
    # Set before anything imports torch, which reads it once.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Ray and LanceDB (the curation tests): no usage reports, no auth prompts, no Rust log noise.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("LANCE_LOG", "error")

try:  # Ray installs its own warning filters on first import: import it before pytest sets up its own.
    import ray  # noqa: F401
    import ray.data  # noqa: F401
except ImportError:
    pass

# The property tests (test_fuzz*.py) run a fixed, derandomized budget in CI: the same examples every
# run, all of them together in a few seconds. HYPOTHESIS_PROFILE=fuzz searches far longer (and randomly).
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None)
settings.register_profile("fuzz", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cpu_bf16(monkeypatch):
    """bf16 autocast on the CPU even where it lacks bf16 matmul instructions (there resolve_precision
    falls back to fp32), so that a test of the bf16 path tests it on every CPU."""
    from cosmos_core.training import precision

    monkeypatch.setattr(precision, "cpu_runs_bf16_natively", lambda: True)


@pytest.fixture
def one_torch_thread():
    """One torch compute thread for the test: tiny models run fastest, and most predictably on a busy
    machine, on one thread (what every xdist worker has already; this covers a plain `pytest`)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
