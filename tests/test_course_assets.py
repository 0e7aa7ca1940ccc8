"""The book's Sphinx extension (_ext/course_assets.py): the accessibility fixes it makes."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import course_assets  # noqa: E402  (a local Sphinx extension, not a package)

CITATION = (
    '<div role="list" class="citation-list">\n'
    '<div class="citation" id="id8" role="doc-biblioentry">\n'
    '<span class="label">[BSF94]</span><p>Bengio et al. 1994.</p>\n</div>\n</div>'
)


def test_bibliography_entries_become_list_items():
    body = course_assets.accessible_bibliography(CITATION)
    assert 'role="doc-biblioentry"' not in body
    assert '<div class="citation" id="id8" role="listitem">' in body
    assert '<div role="list" class="citation-list">' in body


def test_pages_without_a_bibliography_are_left_alone():
    body = '<p role="doc-biblioentry">not a docutils citation</p>'
    assert course_assets.accessible_bibliography(body) == body


def test_axe_core_is_kept_out_of_the_built_book(tmp_path):
    for name in course_assets.VENDORED_FILES:
        (tmp_path / "_vendor" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "_vendor" / name).write_text("")
    config = SimpleNamespace(exclude_patterns=["_build"])
    course_assets._check_vendor_folder(SimpleNamespace(confdir=str(tmp_path)), config)
    assert config.exclude_patterns == ["_build", "axe-core", "axe-core/**"]


def test_a_missing_vendor_folder_says_how_to_fill_it(tmp_path):
    config = SimpleNamespace(exclude_patterns=[])
    with pytest.raises(RuntimeError, match="make vendor"):
        course_assets._check_vendor_folder(SimpleNamespace(confdir=str(tmp_path)), config)
