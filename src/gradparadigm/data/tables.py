"""Reading and writing the tidy tables of the data layer (parquet, written atomically)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gradparadigm.errors import DataFormatError
from gradparadigm.fileio import atomic_path


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)


def read_table(path: str | Path, required: list[str] | None = None) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "missing table (run the prepare rule first)")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        detail = " ".join(str(exc).split())
        raise DataFormatError(path, f"not a readable parquet table ({detail}); rerun the prepare rule") from None
    missing = [c for c in required or [] if c not in table.columns]
    if missing:
        raise DataFormatError(path, f"table lacks column(s) {missing}")
    return table
