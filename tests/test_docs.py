"""What the README and the chapter pages say about the notebooks matches what exists.

A learner decides where to start from these pages; a page that says "only this page" next to a
finished notebook (or names a notebook that is not there) sends them the wrong way.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from utils.paths import NOTEBOOKS_DIR, REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
CHAPTERS = sorted(p for p in NOTEBOOKS_DIR.glob("[0-9][0-9]-*") if p.is_dir())


@pytest.mark.parametrize("folder", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_page_matches_the_folder(folder: Path) -> None:
    page = (folder / "README.md").read_text()
    notebooks = sorted(folder.glob("*.ipynb"))
    if notebooks:
        for nb in notebooks:
            assert f"`{nb.name}`" in page, f"{folder.name}/README.md must name {nb.name}"
            assert str(nb.relative_to(REPO_ROOT)) in README, "README's 'Where to start' too"
        assert "only this page" not in page
        assert f"executed/full/{folder.name}.ipynb" in page
    else:
        assert "planned" in page and "only this page" in page


def test_readme_states_the_prerequisites_every_file_agrees_on() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.13"' in pyproject
    assert "(3, 11), (3, 12)" in (REPO_ROOT / "scripts" / "course_env.sh").read_text()
    assert "python=3.11" in (REPO_ROOT / "environment.yml").read_text()
    assert "Python 3.11 or 3.12" in README and ">=3.11,<3.13" in README
    assert re.search(r"C/C\+\+ compiler", README) and re.search(r"\d\.\d GB of disk", README)
