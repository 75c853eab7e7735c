# Evaluation of one run's encoder: STS (cosine Spearman, SentEval 'all' setting) and SentEval's
# transfer tasks (logistic regression on frozen embeddings).


rule eval_sts:
    input:
        table="results/data/sts.parquet",
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
        pooler=lambda wc: VARIANTS[wc.variant]["pooler"],
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


rule eval_transfer:
    input:
        table="results/data/transfer.parquet",
    output:
        "results/{model}/{variant}/seed~{seed}/transfer.json",
    log:
        "results/logs/eval_transfer/{model}/{variant}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/eval_transfer/{model}/{variant}/seed~{seed}.tsv"
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        model=eval_model_source,
        pooler=lambda wc: VARIANTS[wc.variant]["pooler"],
        tasks=" ".join(config["eval"]["transfer_tasks"]),
        mode=config["eval"]["transfer_mode"],
        engine=config["eval"]["transfer_engine"],
        batch_size=config["eval"]["batch_size"],
        max_length=(
            f"--max-length {config['eval']['max_length']}"
            if config["eval"]["max_length"]
            else ""
        ),
        device=config["eval"]["device"],
    shell:
        # Embeddings are cached per encoder fingerprint under results/cache/ (not an output), so
        # re-running the classifiers (another mode or engine) does not re-encode.
        "python -m gradparadigm eval-transfer --model {params.model:q} --pooler {params.pooler} "
        "--transfer-table {input.table} --out {output} --tasks {params.tasks} --mode {params.mode} "
        "--engine {params.engine} --cache-dir results/cache/embeddings --batch-size {params.batch_size} "
        "{params.max_length} --device {params.device} --threads {threads} "
        "--meta model={wildcards.model} variant={wildcards.variant} seed={wildcards.seed} 2> {log}"
