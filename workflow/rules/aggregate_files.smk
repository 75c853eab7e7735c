# The aggregate rule's files (see aggregate.smk): the study description passed to the job, the
# training logs it reads, and its tables and figures, each marked for the Snakemake report with a
# caption (workflow/report/<kind>.rst), a category (Tables, Figures) and a subcategory.
from gradparadigm.reporting.study import describe_study
from gradparadigm.reporting.sweeps import describe_sweep

STUDY = describe_study(config, RUNS)
# The study-wide tables and figures leave the sweeps' points out (each sweep has its own).
STUDY_RUNS = study_runs(study_variants())
SWEEP_DESCRIPTIONS = {
    sweep: json.dumps(describe_sweep(config, STUDY, sweep)) for sweep in SWEEPS
}
SWEEP_DIR = "results/sweeps/{sweep}"
TABLES_DIR = "results/tables"
FIGURES_DIR = "results/figures"
TABLE_FORMATS = (".html", ".md", ".tex", ".csv")
FIGURE_FORMATS = (".png", ".pdf")


# Snakemake's report() flag; a line may not start with `report` (the global report: keyword).
mark_for_report = report


def reported(name, extensions, kind, category, subcategory, directory=TABLES_DIR):
    """The files name{ext} for every ext, each marked for the report (caption report/<kind>.rst)."""
    caption = f"../report/{kind}.rst"
    files = [f"{directory}/{name}{ext}" for ext in extensions]
    return [
        mark_for_report(f, caption=caption, category=category, subcategory=subcategory)
        for f in files
    ]


def table_outputs(name, subcategory, long=False):
    extensions = TABLE_FORMATS + (("_long.csv",) if long else ())
    return reported(name, extensions, name, "Tables", subcategory)


def figure_outputs(name, kind, subcategory):
    return reported(
        name, FIGURE_FORMATS, kind, "Figures", subcategory, directory=FIGURES_DIR
    )


def train_logs(runs):
    """train_log.jsonl of the trained runs among ``runs`` (next to their model folder)."""
    return [f"{run_dir(run)}/train_log.jsonl" for run in runs if is_trained(run[1])]


def sweep_outputs(kind, sweep="{sweep}"):
    """A sweep's table (.html/.md/.tex/.csv) or figure (.png/.pdf), marked for the report
    (category Sweeps, one subcategory per sweep)."""
    extensions = TABLE_FORMATS if kind == "table" else FIGURE_FORMATS
    return reported(
        kind,
        extensions,
        f"sweep_{kind}",
        "Sweeps",
        sweep,
        directory=SWEEP_DIR.format(sweep=sweep),
    )


def all_sweep_outputs():
    return [
        path
        for sweep in SWEEPS
        for kind in ("table", "figure")
        for path in sweep_outputs(kind, sweep)
    ]


def part_files(part, kind):
    """The results of one part that its tables read: sts, transfer (where the part builds them)
    or train_logs."""
    runs = part_runs(part)
    if kind == "sts":
        return [f"{path}/sts.json" for path in run_dirs(runs)]
    if kind == "transfer":
        return transfer_results(runs) if config["parts"][part]["transfer"] else []
    return train_logs(runs)
