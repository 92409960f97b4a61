"""``cosmos-run cosmos-transfer1 t5_embeddings``: ``t5_xxl/<clip>.pickle`` for every ``metas/<clip>.txt``.

The reference's ``scripts/get_t5_embeddings.py`` with its flags, which here take effect: the model
(``--pretrained_model_name_or_path``: a local folder or a name in the local Hugging Face cache) and
``--max_length``. Captions are encoded in batches on the GPU when there is one; clips that already
have their pickle are skipped.
"""

from __future__ import annotations

import argparse
from typing import Any

from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.tasks.common import Tally, clean_outputs, progress_bar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cosmos_transfer.preprocess.t5_encoder import DEFAULT_MODEL, MAX_LENGTH

    parser.add_argument("--dataset_path", default="datasets/hdvila", help="root of the dataset (default: %(default)s)")
    parser.add_argument(
        "--max_length", type=int, default=MAX_LENGTH, help="tokens per caption at most (default: %(default)s)"
    )
    parser.add_argument(
        "--pretrained_model_name_or_path",
        default=DEFAULT_MODEL,
        help="T5 model: a local folder, or a name in the local Hugging Face cache (default: %(default)s)",
    )
    parser.add_argument("--cache_dir", help="Hugging Face cache folder to look in (default: the standard one)")
    parser.add_argument("--batch_size", type=int, default=8, help="captions encoded together (default: %(default)s)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument(
        "--dtype", choices=("float32", "bfloat16"), default="float32", help="encoder precision (default: %(default)s)"
    )


def run(args: argparse.Namespace, ctx: Any) -> int:
    from cosmos_transfer.data.t5_pickle import write_t5_pickle
    from cosmos_transfer.preprocess.models import pick_device
    from cosmos_transfer.preprocess.t5_encoder import T5Encoder

    layout = DatasetLayout(args.dataset_path)
    if args.max_length < 1 or args.batch_size < 1:
        raise PrepareError("--max_length and --batch_size must be at least 1")
    names = layout.captioned_clips()
    if not names:
        raise PrepareError(f"{layout.metas_dir} holds no <clip>.txt captions; run prepare_data first")
    with ctx.open_run(folder=layout.root, logs=False) as run_:
        layout.t5_dir.mkdir(parents=True, exist_ok=True)
        clean_outputs(layout.t5_dir)
        tally = Tally(existing=sum(layout.t5(name).is_file() for name in names))
        todo = [name for name in names if not layout.t5(name).is_file()]
        if todo:
            encoder = T5Encoder(
                args.pretrained_model_name_or_path,
                max_length=args.max_length,
                device=pick_device(args.device),
                dtype=args.dtype,
                cache_dir=args.cache_dir,
            )
            with progress_bar(len(todo), "t5") as bar:
                for first in range(0, len(todo), args.batch_size):
                    batch = todo[first : first + args.batch_size]
                    captions = [layout.caption(name).read_text(encoding="utf-8-sig").strip() for name in batch]
                    for name, embedding in zip(batch, encoder.encode(captions), strict=True):
                        write_t5_pickle(layout.t5(name), embedding)
                        tally.done += 1
                    bar.update(len(batch))
        run_.summary(
            f"t5_embeddings: {len(names)} captions in {layout.t5_dir} ({tally.done} encoded, {tally.existing} already "
            f"there); next: cosmos-run cosmos-transfer1 control_inputs --dataset_path {layout.root} "
            "--modality depth|seg|keypoint"
        )
    return 0
