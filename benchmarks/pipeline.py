"""Benchmark: whole runs of `referral-warehouse run`, as a user runs them, per scale.

For each scale it generates a clean world (seed 42, 12 months, no injected defects, so the
plain script's numbers can be held equal to ours), holds back the newest file of every source
folder, then times, each in a fresh process as the command line runs:

- the full build (extract-load, dbt, quality, publish) of everything but the held-back files;
- a run with nothing new, and one forced to run every step anyway (the fixed cost);
- a run after one held-back landing file arrives (a day of GA4 events);
- a run after the other held-back files arrive (one more day of GA4 and SIU, the latest
  FHIR export and CRM period): the daily delta;

beside the plain DuckDB script (benchmarks/plain_duckdb.py) on the same files as the full
build, whose core marts must equal ours (benchmarks/reference_check.py), and the dbt peer
(benchmarks/dbt_peer.py: DuckDB's readers and one `dbt build` of this project, the stack a
data engineer would build instead). It prints seconds, the ratios issue 25 sets goals for
(P1 full build / peer, P2 one new file and one new day, P3 full build / plain script and
peak memory, P4 GA4 events loaded per second), and the peak resident memory of the largest
process. Each run's console output is kept beside it
(`<workdir>/scale-N/<run>.log`) for the per-step progress lines. Figures go in
docs/benchmarks.md; tests never time anything.

    python benchmarks/pipeline.py --scales 1 10        # what `make benchmark` runs
    python benchmarks/pipeline.py --scales 100 --full-only   # about 20 M records
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import dbt_peer  # benchmarks/ is the script's folder
import plain_duckdb
import reference_check

from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation
from source_simulator.workflow import StandardsRates

CLI = Path(sys.executable).parent / "referral-warehouse"
REPO_ROOT = Path(__file__).resolve().parent.parent
GA4_FOLDER = "web"
# A finished step's progress line: seconds since the run started, step, what it did.
STEP_LINE = re.compile(r"^\s+([0-9.]+)s\s+(\S+)\s+(.*)$")
# Issue 25's goals, as upper bounds on ratios and seconds (P4 a lower bound on events/s).
GOALS = {"P1 full / peer": {1.0: 1.5, 10.0: 1.25, 100.0: 1.25},
         "P2 one new file s": {1.0: 12.0}, "P2 one new day / plain": {10.0: 2.0},
         "P3 full / plain": {100.0: 4.0}, "P3 peak GB": {100.0: 4.0},
         "P4 GA4 events/s": {100.0: 100_000.0}}


def hold_back_one_file(landing: Path, held: Path) -> str:
    """Move the newest GA4 day left out of the landing: the one file of P2's first run.

    Called after `hold_back_newest`, so it is the day before the delta's.
    """
    day = max(p for p in (landing / GA4_FOLDER).iterdir() if p.is_file())
    target = held / day.relative_to(landing)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(day, target)
    return str(day.relative_to(landing))


def release(landing: Path, held: Path) -> None:
    """Move every held-back file into the landing folder again."""
    for path in sorted(held.rglob("*")):
        if path.is_file():
            target = landing / path.relative_to(held)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)


def ga4_events_per_second(log: Path) -> float | None:
    """GA4 rows loaded per second of its own load, from a run's progress lines (None: no load).

    Entities load side by side, so a table's line gives its own load's seconds.
    """
    for line in log.read_text().splitlines():
        match = STEP_LINE.match(line)
        rows = match and re.match(r"([0-9,]+) rows loaded in ([0-9.]+)s", match[3])
        if match and rows and "ga4_events" in match[2]:
            return int(rows[1].replace(",", "")) / max(float(rows[2]), 1e-9)
    return None


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


# Runs a command and writes the peak RSS (KB) of the largest process of its tree, the run's
# own or dbt's. The run is started from this small interpreter rather than from the
# benchmark's: a child forked from the benchmark's process counted its many GB (the
# generated world, the plain script's DuckDB) as its own, and RUSAGE_CHILDREN of the
# benchmark's process kept the largest of every run so far.
MEASURED_RUN = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


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
    peak_file = workdir / f"{label}.peak"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED_RUN, str(peak_file), str(CLI), "run",
                           *extra], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (workdir / f"{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, int(peak_file.read_text()) / 1024 / 1024


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
    held, held_file = workdir / "held_back", workdir / "held_back_file"
    moved = hold_back_newest(landing, held)
    one_file = hold_back_one_file(landing, held_file)
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    print(f"\nscale {scale:g}: generated in {generated:.0f}s, {size / 1e6:.0f} MB loaded first; "
          f"{len(moved)} files held back for the delta, {one_file} for the one-file run",
          flush=True)
    plain = plain_duckdb.run(landing, workdir / "plain.duckdb")
    print(f"  plain DuckDB      {plain:8.1f}s", flush=True)
    full, peak = timed_run(workdir, "full")
    ga4_rate = ga4_events_per_second(workdir / "full.log")
    print(f"  full build        {full:8.1f}s   {full / plain:.1f}x the plain script   "
          f"peak {peak:.2f} GB   GA4 {ga4_rate or 0:,.0f} events/s", flush=True)
    peer = dbt_peer.run(landing, workdir / "warehouse.duckdb")
    print(f"  dbt peer          {peer['peer']:8.1f}s   (DuckDB readers {peer['readers']:.1f}s + "
          f"dbt build {peer['dbt_build']:.1f}s); full build {full / peer['peer']:.2f}x the peer",
          flush=True)
    equal = reference_check.report(reference_check.compare(workdir / "warehouse.duckdb",
                                                           workdir / "plain.duckdb"))
    figures: dict[str, float | None] = {
        "plain": plain, "peer": peer["peer"], "full": full, "nothing_new": None,
        "fixed": None, "one_file": None, "delta": None, "peak_gb": peak, "ga4_rate": ga4_rate,
        "equal": equal}
    if full_only:
        return figures
    figures["nothing_new"], _ = timed_run(workdir, "nothing-new")
    print(f"  nothing new       {figures['nothing_new']:8.1f}s", flush=True)
    figures["fixed"], _ = timed_run(workdir, "forced", "--force")
    print(f"  forced, no data   {figures['fixed']:8.1f}s   (the fixed cost: every step, "
          "nothing new)", flush=True)
    release(landing, held_file)
    figures["one_file"], _ = timed_run(workdir, "one-new-file")
    print(f"  one new file      {figures['one_file']:8.1f}s   ({one_file})", flush=True)
    release(landing, held)
    figures["delta"], peak = timed_run(workdir, "one-more-day")
    figures["peak_gb"] = max(figures["peak_gb"] or 0.0, peak)
    print(f"  one more day      {figures['delta']:8.1f}s   {figures['delta'] / full:.0%} of the "
          f"full build, {figures['delta'] / plain:.1f}x the plain script's full recompute",
          flush=True)
    return figures


def goal_lines(figures: dict[float, dict[str, float | None]]) -> list[str]:
    """Issue 25's goals P1-P4, each beside the figure measured at its scale."""
    measured = {
        "P1 full / peer": lambda f: f["full"] / f["peer"],
        "P2 one new file s": lambda f: f["one_file"],
        "P2 one new day / plain": lambda f: f["delta"] and f["delta"] / f["plain"],
        "P3 full / plain": lambda f: f["full"] / f["plain"],
        "P3 peak GB": lambda f: f["peak_gb"],
        "P4 GA4 events/s": lambda f: f["ga4_rate"],
    }
    lines = []
    for goal, bounds in GOALS.items():
        for scale, bound in bounds.items():
            if scale not in figures or measured[goal](figures[scale]) is None:
                lines.append(f"{goal:24} scale {scale:>5g}: not measured (goal "
                             f"{'>=' if goal.startswith('P4') else '<='} {bound:g})")
                continue
            value = measured[goal](figures[scale])
            met = value >= bound if goal.startswith("P4") else value <= bound
            lines.append(f"{goal:24} scale {scale:>5g}: {value:10,.2f}   goal "
                         f"{'>=' if goal.startswith('P4') else '<='} {bound:>9,g}   "
                         f"{'met' if met else 'NOT MET'}")
    return lines


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
    print(f"\n{'scale':>6} {'plain s':>8} {'peer s':>7} {'full s':>7} {'marts':>6} "
          f"{'nothing new s':>14} {'fixed s':>8} {'one file s':>10} {'one day s':>9} "
          f"{'peak GB':>8}")
    for scale, f in figures.items():
        shown = {k: "-" if v is None else f"{v:.1f}" for k, v in f.items() if k != "equal"}
        print(f"{scale:>6g} {shown['plain']:>8} {shown['peer']:>7} {shown['full']:>7} "
              f"{'equal' if f['equal'] else 'DIFFER':>6} {shown['nothing_new']:>14} "
              f"{shown['fixed']:>8} {shown['one_file']:>10} {shown['delta']:>9} "
              f"{f['peak_gb']:>8.2f}")
    print("\nissue 25's goals:")
    for line in goal_lines(figures):
        print("  " + line)


if __name__ == "__main__":
    main()
