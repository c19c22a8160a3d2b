"""Command line: write a simulated world's four source systems into a landing folder."""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date
from pathlib import Path

from source_simulator.rates import DefectRates
from source_simulator.simulation import Simulation

MARKER = ".simulated"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the simulation."""
    parser = argparse.ArgumentParser(
        prog="simulate-sources",
        description="Write a seeded, linked referral world as EHR (FHIR bulk NDJSON), "
                    "scheduling (HL7 v2 SIU), CRM (CSV) and web (GA4 export NDJSON) files.")
    parser.add_argument("--out", type=Path, default=Path("data/landing"),
                        help="landing folder to (re)write (default: data/landing)")
    parser.add_argument("--truth", type=Path, default=None,
                        help="ground-truth file of injected defects "
                             "(default: ground_truth.jsonl beside the landing folder)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 is a small specialty network, about 3,000 referrals a "
                             "year; 1000 gives millions")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 31),
                        help="last day of simulated activity (default: 2026-10-31)")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--clean", action="store_true", help="inject no defects")
    parser.add_argument("--chunk-size", type=int, default=100_000,
                        help="records per FHIR NDJSON file before a new chunk starts")
    args = parser.parse_args(argv)

    if args.out.exists():
        if any(args.out.iterdir()) and not (args.out / MARKER).exists():
            parser.error(f"refusing to overwrite {args.out}: it holds files the simulator did "
                         f"not write (no {MARKER} marker). Choose an empty or new --out.")
        shutil.rmtree(args.out)
    truth = args.truth or args.out.parent / "ground_truth.jsonl"
    started = time.perf_counter()
    simulation = Simulation(args.out, truth, seed=args.seed, scale=args.scale, end=args.end,
                            months=args.months,
                            defects=DefectRates.none() if args.clean else DefectRates(),
                            chunk_size=args.chunk_size)
    simulation.run()
    (args.out / MARKER).write_text("written by simulate-sources; safe to regenerate\n")
    files = sum(1 for p in args.out.rglob("*") if p.is_file())
    print(f"simulated {simulation.start} to {simulation.end} at scale {args.scale} "
          f"(seed {args.seed}): {files} files in {args.out} "
          f"in {time.perf_counter() - started:.1f}s; defects listed in {truth}")


if __name__ == "__main__":
    main()
