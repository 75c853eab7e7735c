# Training: the two views of the corpus (tokenized once per tokenizer, max length, augmentation
# and, for discrete augmentations, seed), then one encoder per (model, variant, seed).


rule augment:
    input:
        corpus=rules.fetch_corpus.output.corpus,
    output:
        views=directory("results/views/{model}/{views_key}"),
    log:
        "results/logs/augment/{model}/{views_key}.log",
    benchmark:
        "results/benchmarks/augment/{model}/{views_key}.tsv"
    wildcard_constraints:
        views_key=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        views=views_settings,
    shell:
        "python -m gradparadigm augment --corpus {input.corpus:q} --model {params.views[model]:q} "
        "--max-length {params.views[max_length]} --strategy {params.views[strategy]} "
        "--rate {params.views[rate]} --seed {params.views[seed]} --out {output.views:q} 2> {log:q}"


# GPU: `gpu=1` is the standard resource name (train; eval_sts and eval_transfer on a machine with
# GPUs). The SLURM executor turns it into --gpus=1; locally it is ignored unless a limit is given
# (`--resources gpu=N`; the local profile sets 1), which runs at most N GPU jobs at once. Snakemake
# assigns no device: each job claims a free GPU itself and pins itself to it (gradparadigm.devices),
# so N GPUs run N jobs, one per device. Without a GPU nothing is claimed: the job runs on the CPU.
rule train:
    input:
        views=train_views_dir,
        sts=rules.prepare_sts.output.table,
    output:
        model=directory("results/{model}/{variant}/seed~{seed}/model"),
        log="results/{model}/{variant}/seed~{seed}/train_log.jsonl",
        hparams="results/{model}/{variant}/seed~{seed}/hparams.json",
    log:
        "results/logs/train/{model}/{variant}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/train/{model}/{variant}/seed~{seed}.tsv"
    wildcard_constraints:
        variant=trained_variants_regex(),
    conda:
        ENV
    threads: 8
    resources:
        gpu=1,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        run=train_params,
        checkpoint_dir=checkpoint_dir,
        code_version=train_code_version,
        eval_batch_size=config["eval"]["batch_size"],
    shell:
        "python -m gradparadigm train --model {params.run[model]:q} --views {input.views:q} "
        "--sts-table {input.sts:q} --loss {params.run[loss]:q} --loss-args {params.run[loss_args]:q} "
        "--pooler {params.run[pooler]} --settings {params.run[settings]:q} --seed {wildcards.seed} "
        "--recording @results/recording.json --recording-for {wildcards.model}/{wildcards.variant} "
        "--model-out {output.model:q} --log-out {output.log:q} --hparams-out {output.hparams:q} "
        "--checkpoint-dir {params.checkpoint_dir:q} --eval-batch-size {params.eval_batch_size} "
        "--threads {threads} --meta model={wildcards.model} variant={wildcards.variant} "
        "seed={wildcards.seed} code_version={params.code_version} 2> {log:q}"
