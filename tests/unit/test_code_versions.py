"""The code versions that trigger reruns: a run depends on its own loss's modules, not on every loss."""

from __future__ import annotations

import pytest

from gradparadigm.losses import LOSS_NAMES
from gradparadigm.provenance import PACKAGE_ROOT, digest_files, local_imports
from gradparadigm.training.settings import loss_code_files, training_code_version


def names(loss):
    return {path.name for path in loss_code_files(loss)}


def test_a_loss_depends_on_its_module_its_bases_and_what_they_import():
    assert names("infonce") == {"infonce.py", "base.py", "components.py", "geometry.py", "paradigm.py"}
    assert {"arccon.py", "infonce.py"} <= names("arccon")  # ArcCon subclasses InfoNCE
    assert {"mat.py", "hardest_margin.py"} <= names("mat") and "met.py" not in names("mat")
    assert {"vicreg.py", "correlation.py"} <= names("vicreg") and "barlow_twins.py" not in names("vicreg")
    assert {"sg.py", "paradigm_loss.py", "paradigm_parts.py"} <= names("sg")


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_the_registry_is_left_out(loss):
    assert "registry.py" not in names(loss) and "__init__.py" not in names(loss)


def test_every_loss_has_its_own_version_and_none_means_all():
    versions = {loss: training_code_version(loss) for loss in LOSS_NAMES}
    assert len(set(versions.values())) == len(LOSS_NAMES)
    assert set().union(*(loss_code_files(loss) for loss in LOSS_NAMES)) == loss_code_files(None)


def test_local_imports_follow_relative_imports_transitively(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("from .c import y\nfrom .registry import z\nimport os\n")
    (package / "c.py").write_text("y = 1\n")
    (package / "registry.py").write_text("from .d import w\n")
    found = local_imports([package / "a.py"], stop=("registry.py",))
    assert {p.name for p in found} == {"a.py", "b.py", "c.py"}


def test_digest_is_order_free_and_content_sensitive():
    files = sorted((PACKAGE_ROOT / "losses").glob("*.py"))[:3]
    assert digest_files(files) == digest_files(reversed(files))
    assert digest_files(files) != digest_files(files[:2])
