"""Cosmos-Transfer1's checkpoint files: the core's sharded layout with the reference's model-file content.

``iter_{N:09d}_model_mp_{k}.pt`` holds ``{"model": <state dict>, "ema": <net-... buffers or None>}`` as
the reference writes it (layout §4); other stateful callbacks, if any, go under ``"callbacks"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cosmos_core.training.checkpoint import ShardedLayout

from cosmos_transfer.training.ema import NAME as EMA


class TransferCheckpointLayout(ShardedLayout):
    def model_payload(self, model: dict[str, Any], callbacks: dict[str, Any]) -> dict[str, Any]:
        others = {name: state for name, state in callbacks.items() if name != EMA}
        payload = {"model": model, "ema": callbacks.get(EMA)}
        if others:
            payload["callbacks"] = others
        return payload

    def split_model_payload(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        callbacks = dict(payload.get("callbacks") or {})
        if payload.get("ema"):
            callbacks[EMA] = dict(payload["ema"])
        return dict(payload["model"]), callbacks


LAYOUT = TransferCheckpointLayout()
