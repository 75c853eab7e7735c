# Evaluation of one run's encoder: STS (cosine Spearman, SentEval 'all' setting).


rule eval_sts:
    input:
        table="results/data/sts.parquet",
        model=eval_model_input,
    output:
        "results/{model}/{variant}/seed~{seed}/sts.json",
    log:
        "results/logs/eval_sts/{model}/{variant}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/eval_sts/{model}/{variant}/seed~{seed}.tsv"
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        model=eval_model_source,
        pooler=eval_pooler,
        tasks=" ".join(config["eval"]["sts_tasks"]),
        batch_size=config["eval"]["batch_size"],
        max_length=(
            f"--max-length {config['eval']['max_length']}"
            if config["eval"]["max_length"]
            else ""
        ),
        device=config["eval"]["device"],
    shell:
        "python -m gradparadigm eval-sts --model {params.model:q} --pooler {params.pooler} --sts-table {input.table} "
        "--out {output} --tasks {params.tasks} --batch-size {params.batch_size} {params.max_length} "
        "--device {params.device} --threads {threads} "
        "--meta model={wildcards.model} variant={wildcards.variant} seed={wildcards.seed} 2> {log}"
