"""Every optimised encoding path against fp32 eager embeddings: bf16 autocast, torch.compile (one
padded batch shape) and CUDA graphs, so that speed never changes what a search returns."""

from __future__ import annotations

import pytest
import torch
from cosmos_embed.compiled import CompiledVideoPath, compile_mode, compile_usable
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.tasks.common import Encoder

CPU = torch.device("cpu")


def dynamo_unusable() -> str | None:
    try:
        import torch._dynamo

        return None if torch._dynamo.is_dynamo_supported() else "torch.compile does not support this Python"
    except Exception as error:  # an import-time failure means the same
        return f"torch.compile is unusable here: {error}"


needs_dynamo = pytest.mark.skipif(dynamo_unusable() is not None, reason=str(dynamo_unusable()))


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny")).eval()
    videos = torch.randint(0, 256, (5, 8, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    return network, videos


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


def eager_fp32(network: CosmosEmbed1, videos: torch.Tensor) -> torch.Tensor:
    return Encoder.create(network, "fp32", CPU).videos(videos)


def test_bf16_autocast_keeps_every_embedding_within_cosine_0_999(tiny, cpu_bf16):
    network, videos = tiny
    bf16 = Encoder.create(network, "bf16", CPU)
    assert bf16.precision.name == "bf16"
    assert cosine(bf16.videos(videos), eager_fp32(network, videos)).min() >= 0.999


@needs_dynamo
def test_compiled_encoder_pads_the_short_last_batch_and_matches_eager(tiny):
    network, videos = tiny
    encoder = Encoder.create(network, "fp32", CPU, compile=True, compile_backend="aot_eager")
    assert isinstance(encoder.compiled, CompiledVideoPath) and encoder.compiled.mode == "default"
    full, short = encoder.videos(videos[:3]), encoder.videos(videos[3:])
    assert encoder.compiled.batch_rows == 3 and short.shape == (2, 32)  # padded to 3, cut back to 2
    torch.testing.assert_close(torch.cat([full, short]), eager_fp32(network, videos), rtol=1e-4, atol=1e-5)


@needs_dynamo
def test_compiled_bf16_stays_within_cosine_0_999_of_fp32_eager(tiny, cpu_bf16):
    network, videos = tiny
    encoder = Encoder.create(network, "bf16", CPU, compile=True, compile_backend="aot_eager")
    assert encoder.precision.name == "bf16"
    assert cosine(encoder.videos(videos), eager_fp32(network, videos)).min() >= 0.999


def test_cuda_graph_modes_fall_back_off_cuda_and_unknown_modes_are_refused(monkeypatch):
    assert compile_mode(CPU, "reduce-overhead") == "default"
    monkeypatch.setenv("COSMOS_EMBED_COMPILE_MODE", "max-autotune-no-cudagraphs")
    assert compile_mode(CPU) == "max-autotune-no-cudagraphs"
    monkeypatch.setenv("COSMOS_EMBED_COMPILE_MODE", "fastest")
    with pytest.raises(ValueError, match="COSMOS_EMBED_COMPILE_MODE='fastest'"):
        compile_mode(CPU)


def test_compile_without_a_usable_inductor_warns_and_stays_eager(tiny, monkeypatch, caplog):
    network, videos = tiny
    monkeypatch.setattr("cosmos_embed.tasks.common.compile_usable", lambda device: "no compiler in this test")
    encoder = Encoder.create(network, "fp32", CPU, compile=True)
    assert encoder.compiled is None and "no compiler in this test" in caplog.text


@pytest.mark.gpu
@pytest.mark.skipif(compile_usable(torch.device("cuda")) is not None, reason="inductor cannot build CUDA kernels")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_inductor_and_cuda_graphs_on_cuda_match_fp32_eager(tiny, mode):
    network, videos = tiny
    reference = eager_fp32(network, videos)
    encoder = Encoder.create(network, "bf16", torch.device("cuda"), compile=True, compile_mode=mode)
    assert encoder.compiled.mode == mode
    first = encoder.videos(videos[:3].pin_memory())
    again = encoder.videos(videos[:3].pin_memory())  # a CUDA-graph replay must not overwrite `first`
    short = encoder.videos(videos[3:])
    torch.testing.assert_close(first, again)
    assert cosine(torch.cat([first, short]), reference).min() >= 0.999
    network.cpu()
