"""A test plugin (loaded with ``-p gated_clips``): the ``gated_vad_r1`` dataset type, VAD-R1 clips of
which only the first ``$GATED_CLIPS_OPEN`` decode; the others wait until the process is killed. A build
over it stops part-way, holding a state that a test can kill.
"""

from __future__ import annotations

import os
import time

from cosmos_core.hookspecs import hookimpl
from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset


class GatedVadR1(VadR1Dataset):
    def __getitem__(self, index: int):
        while index >= int(os.environ["GATED_CLIPS_OPEN"]):
            time.sleep(0.05)
        return super().__getitem__(index)


@hookimpl
def cosmos_register_datasets(registry) -> None:
    registry.add(
        "gated_vad_r1",
        lambda config, *, training: GatedVadR1(config, training=training),
        requires=("metadata",),
        help="VAD-R1 clips that never decode past the first few (tests only).",
    )
