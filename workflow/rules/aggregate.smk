# Tables and figures of the whole study, and what `snakemake --report` shows.
#
# One job reads every result (sts.json, transfer.json, train_log.jsonl), checks it (identity from
# its path = its meta labels, no duplicates, every task, every score finite and in range) and
# writes every table (results/tables/) and figure (results/figures/). The study description
# (each variant's role: baseline, contrastive, ori, mod, ablation; the paper's order) is computed
# at parse time (aggregate_files.smk) and passed as JSON, so a changed config re-aggregates
# (params trigger).


include: "aggregate_files.smk"


# The report's front page (rendered by `snakemake --report`): the study, its resolved config.
report: "../report/workflow.rst"


rule aggregate:
    input:
        sts=expand("{run}/sts.json", run=run_dirs(STUDY_RUNS)),
        transfer=transfer_results(STUDY_RUNS),
        train_logs=train_logs(STUDY_RUNS),
    output:
        sts=table_outputs("sts", "STS", long=True),
        ori_vs_mod=table_outputs("ori_vs_mod", "ori vs mod"),
        ablation=table_outputs("ablation", "ablations"),
        transfer=(
            table_outputs("transfer", "transfer", long=True)
            if config["eval"]["transfer_tasks"]
            else []
        ),
        provenance=table_outputs("provenance", "provenance"),
        cost=table_outputs("cost", "cost"),
        figure_ori_vs_mod=figure_outputs(
            "figure1_ori_vs_mod", "figure_ori_vs_mod", "ori vs mod"
        ),
        figure_ablation=figure_outputs("ablation", "figure_ablation", "ablations"),
        figure_training_curves=[
            path
            for model in MODELS
            for path in figure_outputs(
                f"training_curves_{model}", "figure_training_curves", "training curves"
            )
        ],
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    conda:
        ENV
    params:
        study=json.dumps(STUDY),
        tables=lambda wildcards, output: Path(output.sts[0]).parent,
        figures=lambda wildcards, output: Path(output.figure_ori_vs_mod[0]).parent,
    shell:
        "python -m gradparadigm aggregate --study {params.study:q} "
        "--sts {input.sts:q} --transfer {input.transfer:q} --train-logs {input.train_logs:q} "
        "--out-dir {params.tables:q} --figures-dir {params.figures:q} "
        "--benchmarks results/benchmarks 2> {log:q}"


# The tables and figures of one part of the study (config `parts`), built by `part_<name>`, so
# that a part run on its own shows its results: results/parts/<name>/{tables,figures}/.
rule aggregate_part:
    input:
        sts=lambda wildcards: part_files(wildcards.part, "sts"),
        transfer=lambda wildcards: part_files(wildcards.part, "transfer"),
        train_logs=lambda wildcards: part_files(wildcards.part, "train_logs"),
    output:
        directory("results/parts/{part}"),
    log:
        "results/logs/aggregate_part/{part}.log",
    benchmark:
        "results/benchmarks/aggregate_part/{part}.tsv"
    wildcard_constraints:
        part="|".join(map(re.escape, config["parts"])) or "(?!)",
    conda:
        ENV
    params:
        study=json.dumps(STUDY),
    shell:
        "python -m gradparadigm aggregate --study {params.study:q} "
        "--sts {input.sts:q} --transfer {input.transfer:q} --train-logs {input.train_logs:q} "
        "--out-dir {output:q}/tables --figures-dir {output:q}/figures "
        "--benchmarks results/benchmarks 2> {log:q}"


# The table and figure of one sweep (config `sweeps`): a row per swept value, built by
# `sweep_<name>`: results/sweeps/<name>/{table,figure}.*, in the report under Sweeps.
rule aggregate_sweep:
    input:
        sts=lambda wildcards: expand(
            "{run}/sts.json", run=run_dirs(sweep_runs(wildcards.sweep))
        ),
        train_logs=lambda wildcards: train_logs(sweep_runs(wildcards.sweep)),
    output:
        table=sweep_outputs("table"),
        figure=sweep_outputs("figure"),
    log:
        "results/logs/aggregate_sweep/{sweep}.log",
    benchmark:
        "results/benchmarks/aggregate_sweep/{sweep}.tsv"
    wildcard_constraints:
        sweep="|".join(map(re.escape, SWEEPS)) or "(?!)",
    conda:
        ENV
    params:
        sweep=lambda wildcards: SWEEP_DESCRIPTIONS[wildcards.sweep],
        out_dir=lambda wildcards, output: Path(output.table[0]).parent,
    shell:
        "python -m gradparadigm sweep --sweep {params.sweep:q} "
        "--sts {input.sts:q} --train-logs {input.train_logs:q} --out-dir {params.out_dir:q} 2> {log:q}"
