"""Resolving Hugging Face repo ids from the local cache only: cosmos-run never downloads weights."""

from __future__ import annotations

import re
from pathlib import Path

from cosmos_core.errors import UserInputError

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class WeightsNotFoundError(UserInputError, FileNotFoundError):
    """Pretrained weights or a checkpoint that is not where the config says."""


def looks_like_repo_id(text: str) -> bool:
    """``owner/name`` that is not an existing local path."""
    return bool(REPO_ID.match(text)) and not Path(text).exists()


def cache_hint(repo_id: str) -> str:
    """What to do when ``repo_id`` (or some of its files) is not in the local cache."""
    from huggingface_hub.constants import HF_HUB_CACHE

    return (
        f"cosmos-run never downloads; on a machine with internet access run "
        f"`huggingface-cli download {repo_id}` (cache: {HF_HUB_CACHE}, set HF_HOME to move it), "
        "or pass a local path"
    )


def local_snapshot(repo_id: str, purpose: str) -> Path:
    """The cached snapshot directory of ``repo_id``; FileNotFoundError saying how to get it otherwise."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as error:  # huggingface_hub raises several types for "not cached"
        raise WeightsNotFoundError(
            f"{purpose}: Hugging Face repo {repo_id!r} is not in the local cache "
            f"({error.__class__.__name__}). " + cache_hint(repo_id)
        ) from error


def cached_file(repo_ids: list[str], filename: str) -> Path | None:
    """``filename`` from the first of ``repo_ids`` that has it in the local cache, else None."""
    from huggingface_hub import try_to_load_from_cache

    for repo_id in repo_ids:
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None
