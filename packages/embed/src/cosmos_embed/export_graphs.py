"""The ONNX graphs Cosmos-Embed1 offers, keyed by ``export.mode``, and their documented interface.

==========  ===========================================================  ==========================
mode        inputs                                                       outputs
==========  ===========================================================  ==========================
video       ``videos`` [B, T, 3, H, W] RGB: float32 in [0, 1], or uint8      ``visual_proj`` [B, E]
text        ``input_ids``, ``attention_mask`` int64 [B, max_txt_len]    ``text_proj`` [B, E]
combined    ``videos``, ``input_ids``, ``attention_mask``                ``visual_proj``, ``text_proj``
==========  ===========================================================  ==========================

T, H, W, max_txt_len and E are the checkpoint's ``num_video_frames``, ``spatial_resolution``,
``max_txt_len`` and ``embed_dim`` (224p: T=8, 224x224, 128, E=256). ``B`` is ``export.batch_size``, or
the dynamic axis ``batch`` with ``export.batch_size=-1``. Outputs are L2-normalised, so a dot product
is the cosine similarity. Pixel normalisation (mean/std) happens inside the graph, as in the eager
model. An ONNX input has one element type, so ``export.video_dtype`` picks it: ``float32`` (default,
what the published processor returns) or ``uint8`` (frames straight from a decoder; the graph divides
by 255, exactly as the eager model does for uint8 input). Text is tokenised as by
:func:`cosmos_embed.text.tokenizer.build_tokenizer`: padded and
truncated to ``max_txt_len``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import torch
from torch import nn

from cosmos_embed.model.dims import qformer_dims
from cosmos_embed.model.embed1 import CosmosEmbed1

VIDEO_INPUTS = ("videos",)
TEXT_INPUTS = ("input_ids", "attention_mask")
VIDEO_OUTPUT = "visual_proj"
TEXT_OUTPUT = "text_proj"

PARITY_TOLERANCE = 1e-4
"""Max abs difference allowed between onnxruntime and eager, per element of a normalised embedding.

Entries of a unit vector are at most 1, so this is a relative bound too. fp32 kernels that sum in
another order differ by ~1e-7 per operation. Measured (random weights, CPU, opset 17, batch 1): tiny
model ~3e-7; full 224p model 8.9e-8 (video graph, 4.4 GB of external weights) and 2.5e-7 (text graph)
with ``OnnxExporter().export(Embed1ExportSource(CosmosEmbed1(preset("224p"))), settings, path)``.
1e-4 leaves orders of magnitude of margin for trained weights and other CPUs, while any real graph
error (a wrong constant, a baked-in batch size, a dropped mask) moves normalised embeddings by 1e-2
or more.
"""


class VideoEmbedding(nn.Module):
    def __init__(self, network: CosmosEmbed1) -> None:
        super().__init__()
        self.network = network

    def forward(self, videos: torch.Tensor) -> torch.Tensor:
        return self.network.get_video_embeddings(videos).visual_proj


class TextEmbedding(nn.Module):
    def __init__(self, network: CosmosEmbed1) -> None:
        super().__init__()
        self.network = network

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.network.get_text_embeddings(input_ids, attention_mask).text_proj


class VideoTextEmbedding(nn.Module):
    def __init__(self, network: CosmosEmbed1) -> None:
        super().__init__()
        self.network = network

    def forward(
        self, videos: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        video = self.network.get_video_embeddings(videos).visual_proj
        text = self.network.get_text_embeddings(input_ids, attention_mask).text_proj
        return video, text


@attrs.frozen
class Embed1Graph:
    """One offered graph (the shape :class:`cosmos_export.protocols.OnnxGraph` describes)."""

    name: str
    module: nn.Module
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_maker: Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]
    tolerance: float = PARITY_TOLERANCE

    def make_inputs(self, batch_size: int, seed: int) -> tuple[torch.Tensor, ...]:
        return self.input_maker(batch_size, torch.Generator().manual_seed(seed))


VIDEO_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}


def random_videos(
    network: CosmosEmbed1, batch_size: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    cfg = network.config
    shape = (batch_size, cfg.num_video_frames, 3, *cfg.spatial_resolution)
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)
    return torch.rand(shape, generator=generator, dtype=dtype)


def random_text(
    network: CosmosEmbed1, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids anywhere in the vocabulary, each row padded (id 0, mask 0) after a random length."""
    cfg = network.config
    vocab_size = qformer_dims(cfg).vocab_size
    input_ids = torch.randint(0, vocab_size, (batch_size, cfg.max_txt_len), generator=generator)
    lengths = torch.randint(1, cfg.max_txt_len + 1, (batch_size, 1), generator=generator)
    attention_mask = (torch.arange(cfg.max_txt_len)[None, :] < lengths).long()
    return input_ids * attention_mask, attention_mask


def embed1_graphs(network: CosmosEmbed1, video_dtype: str = "float32") -> dict[str, Embed1Graph]:
    """The video, text and combined graphs of ``network`` (put in eval mode); ``video_dtype`` is the
    element type of the ``videos`` input (``float32`` or ``uint8``)."""
    network.eval()

    def video_inputs(batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (random_videos(network, batch_size, generator, VIDEO_DTYPES[video_dtype]),)

    def text_inputs(batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        return random_text(network, batch_size, generator)

    def combined_inputs(batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        return video_inputs(batch_size, generator) + text_inputs(batch_size, generator)

    return {
        "video": Embed1Graph("video", VideoEmbedding(network).eval(), VIDEO_INPUTS, (VIDEO_OUTPUT,), video_inputs),
        "text": Embed1Graph("text", TextEmbedding(network).eval(), TEXT_INPUTS, (TEXT_OUTPUT,), text_inputs),
        "combined": Embed1Graph(
            "combined",
            VideoTextEmbedding(network).eval(),
            VIDEO_INPUTS + TEXT_INPUTS,
            (VIDEO_OUTPUT, TEXT_OUTPUT),
            combined_inputs,
        ),
    }
