"""The documentation is self-contained: relative links resolve, `method.md §N` citations name a
section docs/method.md has, and nothing points to the read-only material outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
METHOD = REPO / "docs" / "method.md"
MARKDOWN = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Where the repository's own text lives (src/ includes generated egg-info, which copies README.md).
SCANNED_DIRS = ("src", "workflow", "docs", "configs", "tests")
SCANNED_FILES = ("README.md", "Snakefile", "config.yaml", "pyproject.toml", "environment.yml")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
CITATION = re.compile(r"method\.md(?:'s)?[^\n§]{0,12}(?:§\s*|section\s+)(\d+)(?:\s*[–-]\s*(\d+))?")


def without_fences(text: str) -> str:
    return FENCE.sub("", text)


def without_code(text: str) -> str:
    return INLINE_CODE.sub("", without_fences(text))


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of ``path``: lower case, punctuation dropped, spaces to -."""
    anchors = set()
    for line in without_fences(path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            title = match.group(1).replace("`", "").lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def relative_links(path: Path) -> list[str]:
    targets = LINK.findall(without_code(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


def repository_text_files() -> list[Path]:
    files = [REPO / name for name in SCANNED_FILES if (REPO / name).is_file()]
    for folder in SCANNED_DIRS:
        files += [
            f for f in sorted((REPO / folder).rglob("*")) if f.is_file() and not SKIPPED_PARTS.intersection(f.parts)
        ]
    return files


def test_markdown_files_are_found():
    assert METHOD in MARKDOWN and REPO / "README.md" in MARKDOWN


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(doc: Path):
    broken = []
    for target in relative_links(doc):
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.exists():
            broken.append(f"{target} (no file {dest})")
        elif anchor and dest.suffix == ".md" and anchor.lower() not in heading_anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{doc.relative_to(REPO)}: broken links: {broken}"


def test_method_md_has_sections_one_to_eight_in_order():
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", METHOD.read_text(encoding="utf-8"), re.M)]
    assert numbers == list(range(1, 9))


def test_every_method_md_citation_names_an_existing_section():
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", METHOD.read_text(encoding="utf-8"), re.M)}
    bad, cited = [], 0
    for file in repository_text_files():
        if file.suffix not in {".py", ".md", ".yaml", ".yml", ".smk", ".rst", ".txt", ""}:
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        for line_no, line in enumerate(text.splitlines(), 1):
            for first, last in CITATION.findall(line):
                cited += 1
                wanted = range(int(first), int(last or first) + 1)
                if not set(wanted) <= sections:
                    bad.append(f"{file.relative_to(REPO)}:{line_no}: {line.strip()}")
    assert cited > 20, "the citation pattern no longer matches the code's citations"
    assert not bad, "citations of sections docs/method.md does not have:\n" + "\n".join(bad)


def test_nothing_points_to_the_shared_docs_outside_the_repository():
    this_file = Path(__file__).resolve()
    offending = [
        f.relative_to(REPO).as_posix()
        for f in repository_text_files()
        if f.resolve() != this_file and b"shared/docs" in f.read_bytes()
    ]
    assert not offending, f"files that point to ../shared/docs: {offending}"
