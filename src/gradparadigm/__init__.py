"""gradparadigm: sentence-representation losses read through the gradient paradigm.

Library code for the Snakemake pipeline of this repository. Every stage (data, encoders, losses,
training, evaluation, reporting) is importable and testable without Snakemake; the workflow rules
only call the ``gradparadigm`` command-line interface (:mod:`gradparadigm.cli`).
"""

__version__ = "0.1.0"
