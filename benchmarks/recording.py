"""What every benchmark script records with its figures: the machine it ran on, and the append to a
results file (``--record``). The scripts import it as ``recording`` (they run as ``python benchmarks/X.py``,
which puts this folder first on ``sys.path``)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name (Linux), else the architecture: which instructions it has decides bf16 speed."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def machine() -> str:
    """The GPU, or the CPU with its instruction set, cores and memory; with torch's version and compute
    threads where the script uses torch (the curation scripts do not import it)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    parts = [f"CPU {cpu_name()}"]
    if torch is not None:
        parts[0] += f" ({torch.backends.cpu.get_cpu_capability()})"
    parts.append(f"{os.cpu_count()} cores")
    memory = memory_gib()
    if memory is not None:
        parts.append(f"{memory:.0f} GiB RAM")
    if torch is not None:
        parts.append(f"{torch.get_num_threads()} torch threads (torch {torch.__version__})")
    return ", ".join(parts)


def append_record(path: str | Path, text: str, header: str = "") -> None:
    """Append ``text`` to the markdown file ``path``, creating it (and its folder) with ``header`` first."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
