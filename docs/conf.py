"""Sphinx configuration of the user guide: ``sphinx-build -W -b html docs docs/_build/html``.

The pages are the Markdown files of docs/ (read by MyST, so they stay readable on GitHub); the
gallery's pictures are drawn at build time by the ``gcompile`` directive (gcompile.sphinx), from
the list docs/make_gallery.py draws: see docs/gallery_directives.py.
"""
import os
import re
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, DOCS)  # make_gallery and gallery_directives; make_gallery:korean_apple

project = "gcompile"
author = "the gcompile developers"
extensions = ["myst_parser", "gcompile.sphinx"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]
myst_heading_anchors = 3
html_theme = "alabaster"
html_title = "gcompile"

# Every page in the navigation, without a toctree in docs/index.md (which GitHub shows raw).
TOCTREE = "\n\n```{toctree}\n:hidden:\n:glob:\n\n*\n```\n"
# Links out of docs/ (e.g. ../bench/RESULTS.md) name the repository file instead.
OUTSIDE = re.compile(r"\[([^\]]+)\]\(\.\./([^)\s]+)\)")


def _source_read(app, docname, source):
    if docname == "index":
        source[0] += TOCTREE
    elif docname == "gallery":
        import gallery_directives
        import make_gallery

        for module in (gallery_directives, make_gallery):
            app.env.note_dependency(module.__file__)
        table = gallery_directives.directives(make_gallery.pictures())
        source[0] = gallery_directives.rewrite_gallery(source[0], table)
    source[0] = OUTSIDE.sub(r"\1 (`\2` in the source repository)", source[0])


def setup(app):
    app.connect("source-read", _source_read)
