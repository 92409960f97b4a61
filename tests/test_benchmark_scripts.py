"""The benchmark scripts are run by hand, so nothing else notices when one stops importing: every script
loads (its imports, its argument parser) and answers ``--help``; what they record goes through one helper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if p.name != "recording.py")

# One interpreter for all of them (torch is imported once): each script runs as __main__ with --help.
HELP_EACH = """
import contextlib, io, runpy, sys
sys.path.insert(0, sys.argv[1])
for script in sys.argv[2:]:
    sys.argv = [script, "--help"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        assert stop.code in (0, None), (script, stop.code)
    assert out.getvalue().startswith("usage:"), (script, out.getvalue()[:200])
    print("ok", script)
"""


def test_every_benchmark_script_imports_and_answers_help():
    assert len(SCRIPTS) >= 10
    done = subprocess.run(
        [sys.executable, "-c", HELP_EACH, str(BENCHMARKS), *map(str, SCRIPTS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [word for script in SCRIPTS for word in ("ok", str(script))]


def test_recording_writes_the_header_once_and_names_the_machine(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import recording

    results = tmp_path / "results" / "bench.md"
    recording.append_record(results, "| 1 |\n", "# Bench\n\n| n |\n|---|\n")
    recording.append_record(results, "| 2 |\n", "# Bench\n\n| n |\n|---|\n")
    assert results.read_text() == "# Bench\n\n| n |\n|---|\n| 1 |\n| 2 |\n"
    line = recording.machine()  # torch is imported (above), so the line carries its build and threads
    assert "torch" in line and (line.startswith("CPU ") or torch.cuda.is_available())
