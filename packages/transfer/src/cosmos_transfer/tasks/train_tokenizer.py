"""``cosmos-run cosmos-transfer1 train_tokenizer``: the small video autoencoder of the tiny experiments.

The released tokenizer (Cosmos-Tokenize1-CV8x8x8-720p) is what the 7B experiments use; there is no
released tokenizer small enough for CPU runs, so the tiny experiments use cosmos-run's
:class:`~cosmos_transfer.tokenizer.autoencoder.VideoAutoencoder` (same 8x8x8 compression and 16 latent
channels), trained here on a dataset's clips: windows of ``--num_frames`` at ``--resolution``, sampled
like the training dataset samples them, and saved with its latent statistics to ``--output``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger("cosmos.transfer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset_path", required=True, help="a prepared dataset (videos/, metas/, t5_xxl/)")
    parser.add_argument("--output", required=True, help="the .pt file to write (model.tokenizer.path)")
    parser.add_argument("--num_frames", type=int, default=17, help="frames per training window (1 + 8k)")
    parser.add_argument("--resolution", default="64", help="resolution bucket of the windows (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2, help="windows drawn per clip (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace, ctx: Any) -> int:
    import torch

    from cosmos_transfer.data.dataset import TransferDataset
    from cosmos_transfer.tokenizer.autoencoder import VideoAutoencoder
    from cosmos_transfer.tokenizer.interface import uint8_to_unit_range
    from cosmos_transfer.tokenizer.training import reconstruction_error, train_autoencoder
    from cosmos_transfer.training.tokenizers import save_autoencoder

    output = Path(args.output)
    with ctx.open_run(folder=output.parent, logs=False) as run:
        torch.manual_seed(args.seed)
        dataset = TransferDataset(
            args.dataset_path, None, num_frames=args.num_frames, resolution=args.resolution, seed=args.seed
        )
        clips = []
        for epoch in range(args.epochs):
            dataset.set_epoch(epoch)
            clips += [item["video"] for item in (dataset[i] for i in range(len(dataset))) if isinstance(item, dict)]
        if not clips:
            from cosmos_transfer.data.errors import TransferDataError

            raise TransferDataError(f"no clip of {args.dataset_path} could be loaded (see the warnings above)")
        videos = uint8_to_unit_range(torch.stack(clips))
        model = VideoAutoencoder()
        before = reconstruction_error(model, videos)
        losses = train_autoencoder(model, videos, args.steps, generator=torch.Generator().manual_seed(args.seed))
        after = reconstruction_error(model, videos)
        save_autoencoder(model, output)
        logger.info("autoencoder: %d windows, %d steps, last loss %.4f", len(clips), args.steps, losses[-1])
        run.summary(
            f"wrote {output}: reconstruction error {after:.4f} (untrained {before:.4f}) on {len(clips)} windows"
        )
    return 0
