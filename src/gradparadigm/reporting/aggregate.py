"""Every table and figure of a study from its result files: what ``gradparadigm aggregate`` runs.

Writes, under ``out_dir``: ``sts``, ``ori_vs_mod``, ``ablation``, ``provenance`` and, when
transfer results are given, ``transfer`` (each .md/.tex/.csv/.html; ``sts_long.csv`` and
``transfer_long.csv`` hold every number); under ``figures_dir`` (when given):
``figure1_ori_vs_mod``, ``ablation`` and ``training_curves_<model>`` for every model of the study
(each .png/.pdf). See :mod:`~gradparadigm.reporting.tables` and :mod:`~gradparadigm.reporting.figures`.

With a study description (:func:`gradparadigm.reporting.study.describe_study`), every result must
belong to one of its models and variants; without one, the variants keep the order given and have
no role (the ori/mod and ablation tables then hold only their note).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Mapping

from gradparadigm.data.sts import STS_TASKS
from gradparadigm.data.transfer_tasks import TRANSFER_TASKS
from gradparadigm.errors import DataFormatError
from gradparadigm.reporting.comparisons import ablation_table, ori_vs_mod_table
from gradparadigm.reporting.cost import cost_table
from gradparadigm.reporting.provenance_table import provenance_table
from gradparadigm.reporting.results import load_sts, load_transfer, run_identity
from gradparadigm.reporting.study import study_from_results, validate_study
from gradparadigm.reporting.tables import sts_table, transfer_table, write_table

log = logging.getLogger(__name__)
TABLES = ("sts", "ori_vs_mod", "ablation", "provenance")
FIGURES = ("figure1_ori_vs_mod", "ablation")


def check_in_study(paths: Iterable[Path], study: Mapping[str, Any]) -> None:
    """Each result's model and variant must be in the study (else its rows would have no place)."""
    for path in paths:
        run = run_identity(path)
        if run.model not in study["models"]:
            raise DataFormatError(
                path, f"model {run.model!r} is not in the study (models: {', '.join(study['models'])})"
            )
        if run.variant not in study["variants"]:
            raise DataFormatError(
                path, f"variant {run.variant!r} is not in the study (variants: {', '.join(study['variants'])})"
            )


def aggregate(
    study: Mapping[str, Any] | None,
    sts: list[Path],
    transfer: list[Path],
    train_logs: list[Path],
    out_dir: Path,
    figures_dir: Path | None = None,
    benchmarks_dir: Path | None = None,
) -> list[Path]:
    """Write every table (and figure; the cost table from ``benchmarks_dir``, when given, counting
    the per-run rules of these results' runs only); returns the files written."""
    sts, transfer, train_logs = list(map(Path, sts)), list(map(Path, transfer)), list(map(Path, train_logs))
    everything = [*sts, *transfer, *train_logs]
    if study is None:
        runs = [run_identity(p) for p in everything]
        study = study_from_results(
            list(dict.fromkeys(r.model for r in runs)), list(dict.fromkeys(r.variant for r in runs))
        )
    validate_study(study)
    check_in_study(everything, study)
    evaluation = study.get("eval") or {}
    written: list[Path] = []

    sts_scores = load_sts(sts, evaluation.get("sts_tasks") or STS_TASKS)
    tables = {
        "sts": sts_table(sts_scores, study),
        "ori_vs_mod": ori_vs_mod_table(sts_scores, study),
        "ablation": ablation_table(sts_scores, study),
    }
    metas = list(sts_scores.meta.values())
    if transfer:
        transfer_scores = load_transfer(transfer, evaluation.get("transfer_tasks") or TRANSFER_TASKS)
        tables["transfer"] = transfer_table(transfer_scores, study)
        metas += list(transfer_scores.meta.values())
    tables["provenance"] = provenance_table(metas)
    if benchmarks_dir is not None:
        runs = {(r.model, r.variant, r.seed) for r in map(run_identity, [*sts, *transfer])}
        tables["cost"] = cost_table(Path(benchmarks_dir), runs)
    for name, table in tables.items():
        write_table(table, out_dir / name)
        written += [out_dir / f"{name}{ext}" for ext in (".md", ".tex", ".csv", ".html")]
        log.info("wrote %s/%s.{md,tex,csv,html}: %d rows", out_dir, name, len(table.rows))

    if figures_dir is not None:
        written += write_figures(study, sts_scores, train_logs, figures_dir)
    return written


def write_figures(study: Mapping[str, Any], sts_scores, train_logs: list[Path], figures_dir: Path) -> list[Path]:
    # matplotlib is imported only here: the tables do not need it
    from gradparadigm.reporting.figures import figure_ablation, figure_ori_vs_mod, figure_training_curves
    from gradparadigm.reporting.train_logs import load_train_logs

    logs = load_train_logs(train_logs)
    written = figure_ori_vs_mod(sts_scores, study, figures_dir / "figure1_ori_vs_mod")
    written += figure_ablation(sts_scores, study, figures_dir / "ablation")
    for model in study["models"]:  # check_in_study: every log's model is one of them
        written += figure_training_curves(logs, study, model, figures_dir / f"training_curves_{model}")
    log.info("wrote %d figure files to %s", len(written), figures_dir)
    return written
