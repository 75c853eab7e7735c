"""The paper's comparisons of average STS: ori vs mod per non-contrastive loss, and the ablations.

* ``ori_vs_mod``: per model and family (MHE, MHS, Barlow Twins, VICReg), the average STS of the
  original loss, of the modified one (GD, W and R added), and Δ = mean(mod) − mean(ori).
* ``ablation``: per model and family, mod and mod without GD / W / R, each with its Δ from mod.

Δ is the difference of the two seed means shown beside it; its ± is the standard error of that
difference, sqrt(s²_a/n_a + s²_b/n_b), shown when both sides have at least two seeds. A side
without results reads "–". Pairs come from :func:`gradparadigm.reporting.study.ori_mod_pairs` and
:func:`~gradparadigm.reporting.study.ablation_sets` (a variant's ``base`` names its partner).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from gradparadigm.reporting.results import Scores
from gradparadigm.reporting.study import COMPONENT_LABELS, COMPONENTS, ablation_sets, family_label, ori_mod_pairs
from gradparadigm.reporting.tables import (
    SEEDS_NOTE,
    STS_SETTING,
    Table,
    fmt_seeds,
    fmt_value,
    seed_stats,
    study_setting,
)

EMPTY = {"mean": math.nan, "std": math.nan, "n": 0}


def average_stats(scores: Scores) -> dict[tuple[str, str], dict]:
    """(model, variant) -> {mean, std, n} of the average STS over seeds."""
    stats = seed_stats(scores.headline)
    return {
        (m, v): {"mean": row["mean"], "std": row["std"], "n": int(row["n"])}
        for (m, v, task), row in stats.iterrows()
        if task == "avg"
    }


def difference(a: dict, b: dict) -> dict:
    """b − a: the difference of means and its standard error (NaN unless both have n >= 2)."""
    if not a["n"] or not b["n"]:
        return {"mean": math.nan, "std": math.nan, "n": 0}
    se = math.sqrt(a["std"] ** 2 / a["n"] + b["std"] ** 2 / b["n"]) if min(a["n"], b["n"]) > 1 else math.nan
    return {"mean": b["mean"] - a["mean"], "std": se, "n": min(a["n"], b["n"])}


def _delta(d: dict) -> str:
    if not d["n"]:
        return "–"
    return fmt_value(d["mean"], d["std"], 2 if math.isfinite(d["std"]) else 1, signed=True)


def _models(study: Mapping[str, Any], averages: dict) -> list[str]:
    models = list(study.get("models") or {})
    return models + sorted({m for m, _ in averages} - set(models))


def _expected(study: Mapping[str, Any]) -> int | None:
    return len(study["seeds"]) if study.get("seeds") else None


DELTA_NOTE = (
    "Δ = difference of the two means; ± its standard error sqrt(s²_a/n_a + s²_b/n_b) when both "
    "sides have two or more seeds."
)


def ori_vs_mod_table(scores: Scores, study: Mapping[str, Any]) -> Table:
    averages = average_stats(scores)
    headers = ["Model", "Loss", "ori", "mod", "Seeds", "Δ mod − ori"]
    rows, records = [], []
    for model in _models(study, averages):
        for family, ori, mod in ori_mod_pairs(study):
            a, b = averages.get((model, ori), EMPTY), averages.get((model, mod), EMPTY)
            if not a["n"] and not b["n"]:
                continue
            row_n = max(a["n"], b["n"])
            delta = difference(a, b)
            rows.append(
                [
                    model,
                    family_label(family),
                    fmt_value(a["mean"], a["std"], a["n"], row_n),
                    fmt_value(b["mean"], b["std"], b["n"], row_n),
                    fmt_seeds(row_n, _expected(study)),
                    _delta(delta),
                ]
            )
            records.append(
                {
                    "model": model,
                    "family": family,
                    "ori_variant": ori,
                    "mod_variant": mod,
                    "ori": a["mean"],
                    "ori std": a["std"],
                    "ori n": a["n"],
                    "mod": b["mean"],
                    "mod std": b["std"],
                    "mod n": b["n"],
                    "delta": delta["mean"],
                    "delta se": delta["std"],
                }
            )
    columns = [
        "model",
        "family",
        "ori_variant",
        "mod_variant",
        "ori",
        "ori std",
        "ori n",
        "mod",
        "mod std",
        "mod n",
        "delta",
        "delta se",
    ]
    caption = (
        f"Average STS of the non-contrastive losses in their original form (ori) and with gradient "
        f"dissipation, weight and ratio added (mod). Average STS: {STS_SETTING}."
    )
    return Table(
        headers,
        rows,
        pd.DataFrame(records, columns=columns),
        " ".join([caption, SEEDS_NOTE, DELTA_NOTE, study_setting(study)]),
        "tab:ori-vs-mod",
        note="No ori/mod variant of MHE, MHS, Barlow Twins or VICReg has results in this study.",
    )


def ablation_table(scores: Scores, study: Mapping[str, Any]) -> Table:
    averages = average_stats(scores)
    headers = ["Model", "Loss", "mod", "Seeds"]
    for component in COMPONENTS:
        headers += [f"no {COMPONENT_LABELS[component]}", "Δ"]
    rows, records = [], []
    for model in _models(study, averages):
        for family, mod, ablations in ablation_sets(study):
            base = averages.get((model, mod), EMPTY)
            cells = {c: averages.get((model, ablations.get(c)), EMPTY) for c in COMPONENTS}
            if not base["n"] and not any(c["n"] for c in cells.values()):
                continue
            row_n = max([base["n"], *(c["n"] for c in cells.values())])
            row = [
                model,
                family_label(family),
                fmt_value(base["mean"], base["std"], base["n"], row_n),
                fmt_seeds(row_n, _expected(study)),
            ]
            record = {
                "model": model,
                "family": family,
                "mod_variant": mod,
                "mod": base["mean"],
                "mod std": base["std"],
                "mod n": base["n"],
            }
            for component, cell in cells.items():
                delta = difference(base, cell)
                row += [fmt_value(cell["mean"], cell["std"], cell["n"], row_n), _delta(delta)]
                record.update(
                    {
                        f"no_{component}_variant": ablations.get(component),
                        f"no_{component}": cell["mean"],
                        f"no_{component} std": cell["std"],
                        f"no_{component} n": cell["n"],
                        f"no_{component} delta": delta["mean"],
                        f"no_{component} delta se": delta["std"],
                    }
                )
            rows.append(row)
            records.append(record)
    columns = ["model", "family", "mod_variant", "mod", "mod std", "mod n"]
    for c in COMPONENTS:
        columns += [f"no_{c}_variant", f"no_{c}", f"no_{c} std", f"no_{c} n", f"no_{c} delta", f"no_{c} delta se"]
    caption = (
        "Ablations: average STS of the modified non-contrastive losses (mod) and of mod without "
        "gradient dissipation (no GD), weight (no W) or ratio (no R); Δ = ablation − mod. "
        f"Average STS: {STS_SETTING}."
    )
    return Table(
        headers,
        rows,
        pd.DataFrame(records, columns=columns),
        " ".join([caption, SEEDS_NOTE, DELTA_NOTE, study_setting(study)]),
        "tab:ablation",
        note="No ablation variant (mod without GD, W or R) has results in this study.",
    )
