# Tables of every run of the study, in the paper's column order.


rule aggregate:
    input:
        sts=expand("{run}/sts.json", run=run_dirs()),
    output:
        md="results/tables/sts.md",
        tex="results/tables/sts.tex",
        csv=report(
            "results/tables/sts.csv",
            caption="../report/sts.rst",
            category="STS",
        ),
        long="results/tables/sts_long.csv",
    log:
        "results/logs/aggregate.log",
    conda:
        ENV
    shell:
        "python -m gradparadigm aggregate --sts {input.sts} --out-prefix results/tables/sts 2> {log}"
