"""Benchmark: whole runs of `referral-warehouse run`, as a user runs them, per scale.

For each scale it generates a clean world (seed 42, 12 months, no injected defects, so the
plain script's numbers can be held equal to ours), holds back the newest file of every source
folder, then times, each in a fresh process as the command line runs:

- the full build (extract-load, dbt, quality, publish) of everything but the held-back files;
- a run with nothing new;
- a run after the held-back files arrive (one more day of GA4 and SIU, the latest FHIR
  export and CRM period): the daily delta;

and the plain DuckDB script (benchmarks/plain_duckdb.py) on the same files as the full build,
whose core marts must equal ours (benchmarks/reference_check.py). It prints seconds, the full
build as a multiple of the plain script, the delta as a share of the full build, and the peak
resident memory of the largest process. Each run's console output is kept beside it
(`<workdir>/scale-N/<run>.log`) for the per-step progress lines. Figures go in
docs/benchmarks.md; tests never time anything.

    python benchmarks/pipeline.py --scales 1 10        # what `make benchmark` runs
    python benchmarks/pipeline.py --scales 100 --full-only   # about 20 M records
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

import plain_duckdb  # benchmarks/ is the script's folder
import reference_check

from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation
from source_simulator.workflow import StandardsRates

CLI = Path(sys.executable).parent / "referral-warehouse"
REPO_ROOT = Path(__file__).resolve().parent.parent


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


def timed_run(workdir: Path, label: str, *extra: str) -> tuple[float, float]:
    """Run the command line once; return seconds and peak RSS (GB) of its processes."""
    env = {**os.environ, "RW_LANDING_DIR": str(workdir / "landing"),
           "RW_WAREHOUSE_PATH": str(workdir / "warehouse.duckdb"),
           "RW_QUALITY_DIR": str(workdir / "quality"), "RW_SERVING_DIR": str(workdir / "serving"),
           "RW_LOG_DIR": str(workdir / "logs"), "RW_DEMO_MODE": "1",
           "DAGSTER_HOME": str(workdir / "dagster_home")}
    (workdir / "dagster_home").mkdir(exist_ok=True)
    # The instance settings `make` installs into DAGSTER_HOME (its event log storage).
    shutil.copy2(REPO_ROOT / "orchestration" / "dagster.yaml", workdir / "dagster_home")
    started = time.perf_counter()
    done = subprocess.run([str(CLI), "run", *extra], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (workdir / f"{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    return seconds, peak_gb


def bench_scale(scale: float, root: Path, full_only: bool = False) -> dict[str, float | None]:
    """Generate one world and time its runs; return the figures (only the full build's)."""
    workdir = root / f"scale-{scale:g}"
    landing = workdir / "landing"
    started = time.perf_counter()
    Simulation(landing, workdir / "ground_truth.jsonl", seed=42, scale=scale,
               end=date(2026, 10, 31), months=12, defects=DefectRates.none(),
               # The plain script reads the simple shapes only (benchmarks/plain_duckdb.py).
               standards=StandardsRates.none()).run()
    generated = time.perf_counter() - started
    held = workdir / "held_back"
    moved = hold_back_newest(landing, held)
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    print(f"\nscale {scale:g}: generated in {generated:.0f}s, {size / 1e6:.0f} MB loaded first; "
          f"{len(moved)} files held back for the delta", flush=True)
    plain = plain_duckdb.run(landing, workdir / "plain.duckdb")
    print(f"  plain DuckDB      {plain:8.1f}s", flush=True)
    full, peak = timed_run(workdir, "full")
    print(f"  full build        {full:8.1f}s   {full / plain:.1f}x the plain script   "
          f"peak {peak:.2f} GB", flush=True)
    equal = reference_check.report(reference_check.compare(workdir / "warehouse.duckdb",
                                                           workdir / "plain.duckdb"))
    if full_only:
        return {"plain": plain, "full": full, "nothing_new": None, "fixed": None,
                "delta": None, "delta_goal": None, "peak_gb": peak, "equal": equal}
    nothing, _ = timed_run(workdir, "nothing-new")
    print(f"  nothing new       {nothing:8.1f}s", flush=True)
    fixed, _ = timed_run(workdir, "forced", "--force")
    print(f"  forced, no data   {fixed:8.1f}s   (the fixed cost: every step, nothing new)",
          flush=True)
    for path in sorted(held.rglob("*")):
        if path.is_file():
            target = landing / path.relative_to(held)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    delta, peak = timed_run(workdir, "one-more-day")
    goal = fixed + 0.10 * full
    print(f"  one more day      {delta:8.1f}s   {delta / full:.0%} of the full build; goal: "
          f"fixed cost + 10% of the full build = {goal:.1f}s   peak {peak:.2f} GB", flush=True)
    return {"plain": plain, "full": full, "nothing_new": nothing, "fixed": fixed,
            "delta": delta, "delta_goal": goal, "peak_gb": peak, "equal": equal}


def main() -> None:
    """Run every scale asked for and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--full-only", action="store_true",
                        help="time the full build and the plain script only (scale 100)")
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="rw-pipeline-"))
    print(f"whole runs of {CLI.name} under {root} ({os.cpu_count()} cores)")
    figures = {scale: bench_scale(scale, root, args.full_only) for scale in args.scales}
    print(f"\n{'scale':>6} {'plain s':>8} {'full s':>8} {'full/plain':>10} {'marts':>6} "
          f"{'nothing new s':>14} {'fixed s':>8} {'delta s':>8} {'delta goal s':>12} "
          f"{'peak GB':>8}")
    for scale, f in figures.items():
        shown = {k: "-" if v is None else f"{v:.1f}" for k, v in f.items() if k != "equal"}
        print(f"{scale:>6g} {shown['plain']:>8} {shown['full']:>8} "
              f"{f['full'] / f['plain']:>9.1f}x {'equal' if f['equal'] else 'DIFFER':>6} "
              f"{shown['nothing_new']:>14} {shown['fixed']:>8} {shown['delta']:>8} "
              f"{shown['delta_goal']:>12} {f['peak_gb']:>8.2f}")


if __name__ == "__main__":
    main()
