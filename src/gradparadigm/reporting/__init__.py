"""Reporting: the study's tables (Markdown, LaTeX, CSV, HTML) and figures (PNG, PDF).

* :mod:`~gradparadigm.reporting.study` – each variant's role (baseline, contrastive, ori, mod,
  ablation) and the paper's order;
* :mod:`~gradparadigm.reporting.results` – result files, checked before they count;
* :mod:`~gradparadigm.reporting.tables`, :mod:`~gradparadigm.reporting.comparisons`,
  :mod:`~gradparadigm.reporting.provenance_table` – the tables;
* :mod:`~gradparadigm.reporting.train_logs`, :mod:`~gradparadigm.reporting.figures` – the figures;
* :mod:`~gradparadigm.reporting.aggregate` – all of it, as ``gradparadigm aggregate`` runs it.
"""
