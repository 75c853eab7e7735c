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
        source=SENTEVAL_SOURCE,  # a URL, or a local folder (data.senteval.local_dir)
        checksums=CHECKSUMS,
        # a changed local file re-runs the copy (params are a rerun trigger)
        local_state=source_state(SENTEVAL_LOCAL),
    shell:
        "python -m gradparadigm fetch-senteval --source {params.source:q} "
        "--checksums {params.checksums} --out {output.data:q} --record {output.record:q} 2> {log:q}"


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
        source=CORPUS_SOURCE,  # a URL, or a local file (data.corpus.local_file)
        checksums=CHECKSUMS,
        local_state=source_state(CORPUS_LOCAL),
    shell:
        "python -m gradparadigm fetch-corpus --source {params.source:q} "
        "--checksums {params.checksums} --out {output.corpus:q} --record {output.record:q} 2> {log:q}"


rule prepare_sts:
    input:
        senteval=rules.fetch_senteval.output.data,
    output:
        table="results/data/sts.parquet",
    log:
        "results/logs/prepare_sts.log",
    benchmark:
        "results/benchmarks/prepare_sts.tsv"
    conda:
        ENV
    shell:
        "python -m gradparadigm prepare-sts --senteval {input.senteval:q} --out {output.table:q} 2> {log:q}"


rule prepare_transfer:
    input:
        senteval=rules.fetch_senteval.output.data,
    output:
        table="results/data/transfer.parquet",
    log:
        "results/logs/prepare_transfer.log",
    benchmark:
        "results/benchmarks/prepare_transfer.tsv"
    conda:
        ENV
    shell:
        "python -m gradparadigm prepare-transfer --senteval {input.senteval:q} --out {output.table:q} "
        "2> {log:q}"
