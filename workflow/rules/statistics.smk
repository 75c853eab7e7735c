# The official statistics.py quantities of one run's encoder (the trained model, or the base encoder
# of an untrained variant) on a seeded sample of the training corpus: positive and negative cosine,
# alignment, uniformity, the hardest negative's share of W and the dynamic ratio of ArcCon, MET and
# MAT (docs/training.md). The target `statistics` (Snakefile) makes them for every run.


rule encoder_statistics:
    input:
        corpus="results/data/corpus.txt",
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
        args=statistics_args,
    shell:
        "python -m gradparadigm statistics {params.args} --corpus {input.corpus} --threads {threads} "
        "--out {output} 2> {log}"
