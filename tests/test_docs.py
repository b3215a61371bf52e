"""The user guide builds with Sphinx (MyST) and the gcompile directive draws the gallery."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="needs the sphinx extra")
pytest.importorskip("myst_parser", reason="needs the sphinx extra")

from gcompile.docfigure import build_figure, draw_figure, parse_options  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def gallery():
    sys.path.insert(0, str(DOCS))
    try:
        import gallery_directives
        import make_gallery
        yield make_gallery, gallery_directives
    finally:
        sys.path.remove(str(DOCS))


def test_committed_gallery_svgs_equal_what_the_directive_draws(gallery):
    make_gallery, gallery_directives = gallery
    pictures = list(make_gallery.pictures())  # make_gallery's own list, whatever it holds
    assert pictures
    for name, view, file, svg, style in pictures:
        options = gallery_directives.options_of(name, view, style)
        drawn = draw_figure(build_figure(parse_options(options), [DOCS]))
        assert drawn == svg, f"{file}: the directive {options} draws other bytes than make_gallery"
        assert drawn == (DOCS / "images" / file).read_bytes(), f"{file} is out of date"


def test_gallery_page_uses_the_directive(gallery):
    make_gallery, gallery_directives = gallery
    table = gallery_directives.directives(make_gallery.pictures())
    text = gallery_directives.rewrite_gallery((DOCS / "gallery.md").read_text(encoding="utf-8"),
                                              table)
    assert "](images/" not in text and text.count("```{gcompile} ") == len(table)
    with pytest.raises(LookupError, match="make_gallery.py does not draw"):
        gallery_directives.rewrite_gallery("![x](images/nothing.svg)", table)
    with pytest.raises(LookupError, match="add its source to SOURCES"):
        gallery_directives.options_of("pear_pair", "pair", {})


def test_docs_build_with_warnings_as_errors(tmp_path):
    out = tmp_path / "html"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", str(DOCS), str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    html = (out / "gallery.html").read_text(encoding="utf-8")
    drawn = re.findall(r'<object data="_images/(gcompile-[^"]+\.svg)"', html)
    committed = sorted(p.read_bytes() for p in (DOCS / "images").glob("*.svg"))
    assert sorted((out / "_images" / f).read_bytes() for f in drawn) == committed
    for page in ["index", "cli", "custom-ops", "docs-plugins", "graph-format", "ops", "robustness", "teaching"]:
        assert (out / f"{page}.html").is_file()
    assert 'href="gallery.html"' in (out / "index.html").read_text(encoding="utf-8")
