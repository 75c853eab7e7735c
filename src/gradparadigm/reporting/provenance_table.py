"""What produced the numbers: the versions, commits and devices recorded in every result's ``meta``.

One row per item (python, torch, transformers, ..., git commit, code digest, device); the column
"in the results" lists each distinct value with the number of result files that recorded it, so a
study evaluated with mixed versions shows it. "aggregation" is the environment that built the tables.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

import pandas as pd

from gradparadigm.provenance import git_commit, package_versions
from gradparadigm.reporting.tables import Table

_ITEMS = (("git commit", "git_commit"), ("code digest", "code_digest"), ("device", "device"), ("GPU", "gpu"))


def _distinct(values: list[str]) -> str:
    counts = Counter(values)
    return "; ".join(f"{value} ({n} file{'s' if n > 1 else ''})" for value, n in counts.most_common())


def provenance_table(metas: list[Mapping[str, Any]]) -> Table:
    """The provenance of the result files whose ``meta`` objects are given."""
    here = package_versions()
    packages = list(dict.fromkeys([*here, *(p for m in metas for p in (m.get("versions") or {}))]))
    rows, records = [], []
    for package in packages:
        seen = [str(m["versions"][package]) for m in metas if package in (m.get("versions") or {})]
        rows.append([package, _distinct(seen) or "–", here.get(package, "–")])
    aggregation = {"git_commit": git_commit()}
    for label, key in _ITEMS:
        seen = [str(m[key]) for m in metas if m.get(key) is not None]
        if seen or key in aggregation:
            rows.append([label, _distinct(seen) or "–", aggregation.get(key, "–")])
    for what, results, agg in rows:
        records.append({"item": what, "in the results": results, "aggregation": agg})
    caption = (
        f"Provenance of the {len(metas)} result files (sts.json, transfer.json): the versions, git "
        "commit, code digest and device each recorded, with the number of files per value; "
        "'aggregation' = the environment that built these tables."
    )
    return Table(
        ["Item", "In the results", "Aggregation"],
        rows,
        pd.DataFrame(records, columns=["item", "in the results", "aggregation"]),
        caption,
        "tab:provenance",
        n_text_columns=3,
        note="No result files.",
    )
