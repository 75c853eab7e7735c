"""STS-B dev curves of every training run under a results folder, as a Markdown table.

Used to choose the CPU study's settings from the pilot (configs/cpu-pilot.yaml) on STS-B dev only:

    python bench/pilot_summary.py results   # after: snakemake train_all --configfile configs/cpu-pilot.yaml ...

One row per run (model/variant/seed), one column per evaluated step, the best step in bold.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate


def dev_curves(results: Path) -> dict[str, dict[int, float]]:
    curves = {}
    for log in sorted(results.glob("*/*/seed~*/train_log.jsonl")):
        run = "/".join(log.parent.parts[-3:])
        rows = (json.loads(line) for line in log.read_text().splitlines() if line.strip())
        curves[run] = {
            r["step"]: r["stsb_dev_spearman"]
            for r in rows
            if r.get("type") == "eval" and r.get("stsb_dev_spearman") is not None
        }
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=Path("results"))
    args = parser.parse_args()
    curves = dev_curves(args.results)
    steps = sorted({s for curve in curves.values() for s in curve})
    rows = []
    for run, curve in curves.items():
        best = max(curve, key=curve.get) if curve else None
        rows.append([run, *[("**%.2f**" if s == best else "%.2f") % curve[s] if s in curve else "" for s in steps]])
    print(tabulate(rows, headers=["run", *map(str, steps)], tablefmt="pipe", disable_numparse=True))


if __name__ == "__main__":
    main()
