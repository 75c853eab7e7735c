# The paper's simulations of the gradient components over angle grids (method.md §8): mean GD
# per (positive angle, negative angle) for InfoNCE, ArcCon, MPT, MET and MAT; the hardest
# negative's share of W against the negative angle per temperature; R maps for ArcCon, MET and MAT.
# CPU only, seeded, seconds. Settings: config `simulations` (defaults: the official simulation.py).
from gradparadigm.analysis.simulation_run import SIMULATION_CODE, simulation_settings
from gradparadigm.provenance import code_digest

try:
    SIMULATION_SETTINGS = simulation_settings(config["simulations"])
except ValueError as exc:
    raise WorkflowError(
        f"invalid configuration: config key 'simulations': {exc}"
    ) from None


rule simulate:
    output:
        tables=multiext(
            "results/simulations/",
            "gd.csv",
            "weight.csv",
            "ratio.csv",
            "settings.json",
        ),
        figures=[
            mark_for_report(
                f"results/simulations/figures/simulation_{kind}.{ext}",
                caption=f"../report/simulation_{kind}.rst",
                category="Simulations",
                subcategory=kind.upper() if kind != "weight" else "W",
            )
            for kind in ("gd", "weight", "ratio")
            for ext in ("png", "pdf")
        ],
    log:
        "results/logs/simulate.log",
    benchmark:
        "results/benchmarks/simulate.tsv"
    conda:
        ENV
    params:
        settings=json.dumps(SIMULATION_SETTINGS, sort_keys=True),
        # a change of the simulation code re-runs it (params are a rerun trigger)
        code_version=code_digest(SIMULATION_CODE),
    shell:
        "python -m gradparadigm simulate --settings {params.settings:q} "
        "--out-dir results/simulations --figures-dir results/simulations/figures 2> {log:q}"
