# The official statistics.py quantities of one run's encoder (the trained model, or the base encoder
# of an untrained variant) on a seeded sample of the training corpus: positive and negative cosine,
# alignment, uniformity, the hardest negative's share of W and the dynamic ratio of ArcCon, MET and
# MAT (docs/training.md). The target `statistics` (Snakefile) makes them for every run.


rule encoder_statistics:
    input:
        corpus=rules.fetch_corpus.output.corpus,
        model=eval_model_input,
    output:
        "results/{model}/{variant}/seed~{seed}/statistics.json",
    log:
        "results/logs/statistics/{model}/{variant}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/statistics/{model}/{variant}/seed~{seed}.tsv"
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        run=statistics_settings,
    shell:
        "python -m gradparadigm statistics --model {params.run[model]:q} --pooler {params.run[pooler]} "
        "--batch-size {params.run[batch_size]} --max-length {params.run[max_length]} "
        "--n-sentences {params.run[n_sentences]} --seed {params.run[seed]} "
        "--taus {params.run[taus]} --margins {params.run[margins]} --device {params.run[device]} "
        "--corpus {input.corpus:q} --threads {threads} "
        "--meta model={wildcards.model} variant={wildcards.variant} seed={wildcards.seed} "
        "--out {output:q} 2> {log:q}"
