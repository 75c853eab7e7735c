# Evaluation of one run's encoder: STS (cosine Spearman, SentEval 'all' setting) and SentEval's
# transfer tasks (logistic regression on frozen embeddings). Both load the trained model of a
# trained variant, or the base encoder of an untrained one (see common.smk: eval_encoder).


rule eval_sts:
    input:
        table=rules.prepare_sts.output.table,
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
        gpu=eval_gpus,  # 1 where the encoder runs on a GPU (see train.smk)
        mem_mb=6000,
        runtime=60,
    params:
        encoder=eval_encoder,
        tasks=config["eval"]["sts_tasks"],
        # a changed evaluator re-evaluates every encoder (params are a rerun trigger)
        code_version=STS_CODE_VERSION,
    shell:
        "python -m gradparadigm eval-sts --model {params.encoder[model]:q} "
        "--pooler {params.encoder[pooler]} --batch-size {params.encoder[batch_size]} "
        "--max-length {params.encoder[max_length]} --device {params.encoder[device]} "
        "--sts-table {input.table:q} --tasks {params.tasks} --threads {threads} "
        "--meta model={wildcards.model} variant={wildcards.variant} seed={wildcards.seed} "
        "--out {output:q} 2> {log:q}"


rule eval_transfer:
    input:
        table=rules.prepare_transfer.output.table,
        model=eval_model_input,
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
        gpu=eval_gpus,  # 1 where the encoder runs on a GPU (see train.smk)
        mem_mb=8000,
        runtime=120,
    params:
        encoder=eval_encoder,
        tasks=config["eval"]["transfer_tasks"],
        mode=config["eval"]["transfer_mode"],
        engine=config["eval"]["transfer_engine"],
        code_version=TRANSFER_CODE_VERSION,
    shell:
        # Embeddings are cached per encoder fingerprint under results/cache/ (not an output), so
        # re-running the classifiers (another mode or engine) does not re-encode.
        "python -m gradparadigm eval-transfer --model {params.encoder[model]:q} "
        "--pooler {params.encoder[pooler]} --batch-size {params.encoder[batch_size]} "
        "--max-length {params.encoder[max_length]} --device {params.encoder[device]} "
        "--transfer-table {input.table:q} --tasks {params.tasks} --mode {params.mode} "
        "--engine {params.engine} --cache-dir results/cache/embeddings --threads {threads} "
        "--meta model={wildcards.model} variant={wildcards.variant} seed={wildcards.seed} "
        "--out {output:q} 2> {log:q}"
