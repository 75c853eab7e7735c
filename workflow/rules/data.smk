# Data: fetch SentEval's evaluation data and the training corpus (download, or copy from a local
# mirror), verify them against the shipped sha256 manifest, and parse them into tidy tables.


rule fetch_senteval:
    output:
        data=directory("results/data/senteval"),
        record="results/data/senteval.sha256.json",
    log:
        "results/logs/fetch_senteval.log",
    benchmark:
        "results/benchmarks/fetch_senteval.tsv"
    conda:
        ENV
    params:
        source=senteval_source,
        verify=VERIFY_FLAG,
        # a changed local file re-runs the copy (params are a rerun trigger)
        local_state=source_state(SENTEVAL_LOCAL),
    shell:
        "python -m gradparadigm fetch-senteval --out {output.data} --record {output.record} "
        "{params.source} {params.verify} 2> {log}"


rule fetch_corpus:
    output:
        corpus="results/data/corpus.txt",
        record="results/data/corpus.sha256.json",
    log:
        "results/logs/fetch_corpus.log",
    benchmark:
        "results/benchmarks/fetch_corpus.tsv"
    conda:
        ENV
    params:
        source=corpus_source,
        verify=VERIFY_FLAG,
        local_state=source_state(CORPUS_LOCAL),
    shell:
        "python -m gradparadigm fetch-corpus --out {output.corpus} --record {output.record} "
        "{params.source} {params.verify} 2> {log}"


rule prepare_sts:
    input:
        "results/data/senteval",
    output:
        "results/data/sts.parquet",
    log:
        "results/logs/prepare_sts.log",
    benchmark:
        "results/benchmarks/prepare_sts.tsv"
    conda:
        ENV
    shell:
        "python -m gradparadigm prepare-sts --senteval {input} --out {output} 2> {log}"


rule prepare_transfer:
    input:
        "results/data/senteval",
    output:
        "results/data/transfer.parquet",
    log:
        "results/logs/prepare_transfer.log",
    benchmark:
        "results/benchmarks/prepare_transfer.tsv"
    conda:
        ENV
    shell:
        "python -m gradparadigm prepare-transfer --senteval {input} --out {output} 2> {log}"
