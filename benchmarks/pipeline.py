"""Benchmark: whole runs of `referral-warehouse run`, as a user runs them, per scale.

For each scale it generates a world (seed 42, 12 months), holds back the newest file of every
source folder, then times, each in a fresh process as the command line runs:

- the full build (extract-load, dbt, quality, publish) of everything but the held-back files;
- a run with nothing new;
- a run after the held-back files arrive (one more day of GA4 and SIU, the latest FHIR
  export and CRM period): the daily delta;

and prints seconds, the delta as a share of the full build, and the peak resident memory of
the largest process. Figures go in docs/benchmarks.md; tests never time anything.

    python benchmarks/pipeline.py --scales 1 10        # what `make benchmark` runs
    python benchmarks/pipeline.py --scales 100         # about 20 M records: an hour or more
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation

CLI = Path(sys.executable).parent / "referral-warehouse"


def hold_back_newest(landing: Path, held: Path) -> list[str]:
    """Move the newest file (by name) of every folder holding data files out of the landing."""
    moved = []
    folders = {p.parent for p in landing.rglob("*") if p.is_file()}
    for folder in sorted(folders):
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "manifest.json")
        if len(files) < 2 or folder.name.startswith("export_"):
            continue
        newest = files[-1]
        target = held / newest.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(newest, target)
        moved.append(str(newest.relative_to(landing)))
    exports = sorted(p for p in (landing / "ehr").iterdir() if p.is_dir())
    if len(exports) > 1:  # the latest FHIR bulk export arrives with the delta
        shutil.move(exports[-1], held / exports[-1].relative_to(landing))
        moved.append(str(exports[-1].relative_to(landing)))
    return moved


def timed_run(workdir: Path, *extra: str) -> tuple[float, float, str]:
    """Run the command line once; return seconds, peak RSS (GB) of its processes, last line."""
    env = {**os.environ, "RW_LANDING_DIR": str(workdir / "landing"),
           "RW_WAREHOUSE_PATH": str(workdir / "warehouse.duckdb"),
           "RW_QUALITY_DIR": str(workdir / "quality"), "RW_SERVING_DIR": str(workdir / "serving"),
           "RW_LOG_DIR": str(workdir / "logs"), "RW_DEMO_MODE": "1",
           "DAGSTER_HOME": str(workdir / "dagster_home")}
    (workdir / "dagster_home").mkdir(exist_ok=True)
    started = time.perf_counter()
    done = subprocess.run([str(CLI), "run", *extra], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    last = [line for line in done.stdout.splitlines() if line.startswith("run ")] or ["?"]
    return seconds, peak_gb, last[-1]


def bench_scale(scale: float, root: Path) -> dict[str, float]:
    """Generate one world and time its runs; return the figures."""
    workdir = root / f"scale-{scale:g}"
    landing = workdir / "landing"
    started = time.perf_counter()
    Simulation(landing, workdir / "ground_truth.jsonl", seed=42, scale=scale,
               end=date(2026, 10, 31), months=12, defects=DefectRates()).run()
    generated = time.perf_counter() - started
    held = workdir / "held_back"
    moved = hold_back_newest(landing, held)
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    print(f"\nscale {scale:g}: generated in {generated:.0f}s, {size / 1e6:.0f} MB loaded first; "
          f"{len(moved)} files held back for the delta", flush=True)
    full, peak, _ = timed_run(workdir)
    print(f"  full build        {full:8.1f}s   peak {peak:.2f} GB", flush=True)
    nothing, _, _ = timed_run(workdir)
    print(f"  nothing new       {nothing:8.1f}s", flush=True)
    for path in sorted(held.rglob("*")):
        if path.is_file():
            target = landing / path.relative_to(held)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    delta, peak, _ = timed_run(workdir)
    print(f"  one more day      {delta:8.1f}s   {delta / full:.0%} of the full build "
          f"(goal 10% + fixed cost)   peak {peak:.2f} GB", flush=True)
    return {"full": full, "nothing_new": nothing, "delta": delta, "peak_gb": peak}


def main() -> None:
    """Run every scale asked for and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="rw-pipeline-"))
    print(f"whole runs of {CLI.name} under {root} ({os.cpu_count()} cores)")
    figures = {scale: bench_scale(scale, root) for scale in args.scales}
    print(f"\n{'scale':>6} {'full s':>8} {'nothing new s':>14} {'delta s':>8} "
          f"{'delta/full':>10} {'peak GB':>8}")
    for scale, f in figures.items():
        print(f"{scale:>6g} {f['full']:>8.1f} {f['nothing_new']:>14.1f} {f['delta']:>8.1f} "
              f"{f['delta'] / f['full']:>10.0%} {f['peak_gb']:>8.2f}")


if __name__ == "__main__":
    main()
