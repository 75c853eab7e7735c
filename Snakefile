# gradparadigm: contrastive and non-contrastive sentence-representation losses, read as gradient
# dissipation, weight and ratio (Li, Zhang, Nie, ACL 2024). See README.md.
from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default study; `--configfile X.yaml [Y.yaml ...]` replaces it (the files given
# are merged with each other, not with config.yaml). Defaults come from the schema.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/statistics.smk"


# Run where Snakemake runs, never as cluster jobs: the downloads (compute nodes often have no
# internet) and the quick jobs that only read results (aggregation, simulations: seconds).
localrules:
    fetch_senteval,
    fetch_corpus,
    aggregate,
    aggregate_part,
    aggregate_sweep,
    simulate,


# Everything: the tables and figures, and every run's results, so that a deleted sts.json or
# transfer.json is evaluated again. Trained models are not listed: delete them to save disk, and
# `snakemake train_all` (or the model's path) retrains them.
rule all:
    default_target: True
    input:
        rules.aggregate.output,
        rules.simulate.output,
        all_sweep_outputs(),
        expand("{run}/sts.json", run=run_dirs()),
        transfer_results(),


# Named partial targets: `snakemake --cores N data`, `... train_all`, `... evaluate`.
rule data:
    input:
        rules.fetch_senteval.output,
        rules.fetch_corpus.output,
        rules.prepare_sts.output,
        rules.prepare_transfer.output,


rule evaluate:
    input:
        expand("{run}/sts.json", run=run_dirs()),
        transfer_results(),


rule train_all:
    input:
        trained_model_dirs(),


# `snakemake --cores N statistics`: the official statistics of every run's encoder (not in `all`).
rule statistics:
    input:
        statistics_results(),


# `snakemake --cores N tables` / `... figures`: the aggregate job's tables (results/tables/) or
# figures (results/figures/); both come from the one aggregate job.
rule tables:
    input:
        rules.aggregate.output.sts,
        rules.aggregate.output.ori_vs_mod,
        rules.aggregate.output.ablation,
        rules.aggregate.output.transfer,
        rules.aggregate.output.provenance,
        rules.aggregate.output.cost,


rule figures:
    input:
        rules.aggregate.output.figure_ori_vs_mod,
        rules.aggregate.output.figure_ablation,
        rules.aggregate.output.figure_training_curves,


# The HTML report is made by Snakemake itself, not by a job, after the run:
#   snakemake --cores N report --configfile ...        # builds everything the report shows
#   snakemake --report results/report.html --configfile ...
rule report:
    input:
        rules.aggregate.output,
        rules.simulate.output,
        all_sweep_outputs(),


# `snakemake --cores N simulations`: the GD, W and R simulations (results/simulations/), seconds.
rule simulations:
    input:
        rules.simulate.output,


# One target per part of the study (config `parts`): `snakemake --cores N part_<name>` builds its
# runs' results and its tables and figures (results/parts/<name>/).
for _part in config["parts"]:

    rule:
        name:
            f"part_{_part}"
        input:
            part_files(_part, "sts"),
            part_files(_part, "transfer"),
            f"results/parts/{_part}",


# `snakemake --cores N sweeps`: every sweep's runs, tables and figures; one target per sweep
# (config `sweeps`): `snakemake --cores N sweep_<name>` (results/sweeps/<name>/).
rule sweeps:
    input:
        all_sweep_outputs(),


for _sweep in SWEEPS:

    rule:
        name:
            f"sweep_{_sweep}"
        input:
            expand("{run}/sts.json", run=run_dirs(sweep_runs(_sweep))),
            sweep_outputs("table", _sweep),
            sweep_outputs("figure", _sweep),
