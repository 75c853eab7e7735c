# Tables of every run of the study, in the paper's column order.


rule aggregate:
    input:
        sts=expand("{run}/sts.json", run=run_dirs()),
        transfer=transfer_results(),
    output:
        sts=multiext("results/tables/sts", ".md", ".tex", "_long.csv"),
        sts_csv=report(
            "results/tables/sts.csv",
            caption="../report/sts.rst",
            category="STS",
        ),
        transfer=transfer_tables(),
    log:
        "results/logs/aggregate.log",
    conda:
        ENV
    shell:
        "python -m gradparadigm aggregate --sts {input.sts} --transfer {input.transfer} "
        "--out-dir results/tables 2> {log}"
