"""Peak memory of convert_tp / merge_tp on a large synthetic Cosmos-Transfer1 checkpoint, against its size.

    python benchmarks/transfer_tp_convert.py                      # 8 of the 28 base blocks (about 4.2 GB), TP 8
    python benchmarks/transfer_tp_convert.py --blocks 12 --tp 8 2 --record benchmarks/results/transfer_tp_convert.md

The checkpoint is the released ``base_model.pt`` layout of the 7B base DiT at full width (4096, 32 heads):
``base_model.net.*`` keys with the real names and shapes (``transfer1_keys/base_keys.json``) for blocks
``0..--blocks-1`` and every non-block key, plus ``base_model.logvar.*``, random bf16 values. A child
process writes it (its memory is not measured); then each step runs the real launcher in a fresh child
process, ``cosmos-run cosmos-transfer1 convert_tp FILE --tp N`` and ``merge_tp checkpoints_tp/base_model.pt``,
while this process samples the child's ``/proc/PID/status`` every 20 ms (``RssAnon``: memory the process
allocated; ``RssFile``: pages of memory-mapped files, which the kernel can drop) and reads its peak RSS
(``ru_maxrss``, anonymous + file pages) from ``wait4``. A last child compares the merged file with the
original tensor by tensor (memory-mapped): the round trip must be bit-exact. The files are deleted after.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from recording import append_record, machine

GIB = 2**30

BUILD = """
import sys, torch
from cosmos_transfer.model.config import DiTConfig
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.model.config import CONTROL_TINY
blocks, path = int(sys.argv[1]), sys.argv[2]
with torch.device("meta"):
    base = TransferNetworks(DiTConfig(num_blocks=blocks), CONTROL_TINY).base_model
generator = torch.Generator().manual_seed(0)
state = {}
for key, meta in base.state_dict().items():
    state["base_model." + key] = torch.randn(meta.shape, generator=generator, dtype=torch.float32).to(torch.bfloat16)
torch.save(state, path)
print(len(state))
"""

IMPORTS = "import torch, cosmos_core.cli, cosmos_transfer.tp.merge, cosmos_transfer.tp.split"

VERIFY = """
import sys, torch
original = torch.load(sys.argv[1], mmap=True, weights_only=True)
merged = torch.load(sys.argv[2], mmap=True, weights_only=True)
assert list(merged) == list(original), "keys differ"
for key, value in original.items():
    assert merged[key].dtype == value.dtype and torch.equal(merged[key], value), key
print("bit-exact", len(original))
"""


def status_kib(pid: int) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                values[name] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return values


def measured(command: list[str]) -> dict:
    """Run ``command``; its wall time, peak RSS (wait4) and sampled peak RssAnon / RssFile, in bytes."""
    peaks = {"RssAnon": 0, "RssFile": 0}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for name, value in status_kib(process.pid).items():
                if name in peaks:
                    peaks[name] = max(peaks[name], value)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "max_rss": usage.ru_maxrss * 1024,
        "anon": peaks["RssAnon"] * 1024,
        "file": peaks["RssFile"] * 1024,
        "output": output.strip().splitlines()[-1] if output.strip() else "",
    }


def launcher(*args: str) -> list[str]:
    return [sys.executable, "-m", "cosmos_core.cli", "cosmos-transfer1", *args]


def run(blocks: int, tp_sizes: list[int], folder: Path) -> dict:
    checkpoint = folder / "base_model.pt"
    subprocess.run([sys.executable, "-c", BUILD, str(blocks), str(checkpoint)], check=True, capture_output=True)
    size = checkpoint.stat().st_size
    rows = [{"step": "imports only (baseline)", **measured([sys.executable, "-c", IMPORTS])}]
    for tp in tp_sizes:
        split = measured(launcher("convert_tp", str(checkpoint), "--tp", str(tp)))
        rows.append({"step": f"convert_tp --tp {tp}", **split})
        merge = measured(launcher("merge_tp", str(folder / "checkpoints_tp" / "base_model.pt")))
        rows.append({"step": f"merge_tp ({tp} shards)", **merge})
        merged = folder / "fsdp_checkpoints" / "base_model_reg_model.pt"
        check = subprocess.run(
            [sys.executable, "-c", VERIFY, str(checkpoint), str(merged)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise SystemExit(f"round trip at TP {tp} is not bit-exact: {check.stderr[-2000:]}")
        rows[-1]["verified"] = check.stdout.strip()
        shutil.rmtree(folder / "checkpoints_tp")
        shutil.rmtree(folder / "fsdp_checkpoints")
    return {"size": size, "blocks": blocks, "rows": rows}


def table(result: dict, command: str) -> str:
    size = result["size"]
    lines = [
        f"| {datetime.date.today()} | {machine()} | `{command}` | {result['blocks']} of 28 blocks, "
        f"{size / GIB:.2f} GiB | {row['step']} | {row['seconds']:.1f} | {row['max_rss'] / GIB:.2f} "
        f"({row['max_rss'] / size:.2f}x) | {row['anon'] / GIB:.2f} ({row['anon'] / size:.2f}x) | "
        f"{row['file'] / GIB:.2f} |"
        for row in result["rows"]
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=8, help="base blocks in the checkpoint (default: %(default)s)")
    parser.add_argument("--tp", type=int, nargs="+", default=[8], help="TP sizes to split into (default: 8)")
    parser.add_argument("--folder", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--record", type=Path, help="append the rows to this markdown file")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="tp_convert_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args.blocks, args.tp, folder)
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    command = shlex.join(["python", "benchmarks/transfer_tp_convert.py", *sys.argv[1:]])
    rows = table(result, command)
    print(json.dumps({**result, "rows": [{k: v for k, v in r.items()} for r in result["rows"]]}, indent=1))
    print(rows)
    if args.record:
        append_record(args.record, rows + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
