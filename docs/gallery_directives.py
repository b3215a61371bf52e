"""The ``gcompile`` directive options that draw each picture docs/make_gallery.py draws.

make_gallery.py writes docs/gallery.md and the committed SVGs (readable on GitHub); the Sphinx
build (docs/conf.py) draws the same pictures with the directive instead, and
tests/test_docs.py checks, picture by picture in make_gallery's own list, that the directive
writes the very bytes committed under docs/images.  A picture this module cannot translate
fails that check (and the docs build) with a message saying so.

Usage::

    python docs/gallery_directives.py      # print each picture's directive
"""
from __future__ import annotations

import re

from gcompile.examples import EXAMPLES

#: Gallery cases whose graph is not a bundled example used as it is.
SOURCES = {"apple_korean": "make_gallery:korean_apple", "onnx_cnn": "make_gallery:onnx_cnn"}
#: make_gallery's view name -> the directive's ``:show:``.
SHOWS = {"orders": "hvp"}
#: Options a picture needs beyond its example's defaults (make_gallery's CALLS say the same).
EXTRA = {("apple_orders", "orders"): {"wrt": "apple, tax"}}
#: Cases drawn from ``gc.grad(..., optimize=True)`` (make_gallery's "apple_optimized").
OPTIMIZED = ("apple_optimized",)

IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\(images/(?P<file>[^)\s]+\.svg)\)\s*$")


def source_of(name):
    """The directive's source for gallery case ``name``: its override, itself or its example."""
    if name in SOURCES:
        return SOURCES[name]
    if name in EXAMPLES:
        return name
    bases = [e for e in EXAMPLES if name.startswith(e + "_")]
    if not bases:
        raise LookupError(f"gallery picture {name!r}: no bundled example of that name or prefix; "
                          f"add its source to SOURCES in docs/gallery_directives.py")
    return max(bases, key=len)


def options_of(name, view, style):
    """The directive options (text, as a page writes them) drawing one gallery picture."""
    options = {"source": source_of(name), "show": SHOWS.get(view, view)}
    for key, value in style.items():
        if key == "style":  # render_pair(..., style="book") is the directive's :show: book
            options["show"] = value
            continue
        options[key] = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    options.update(EXTRA.get((name, view), {}))
    if name in OPTIMIZED and view in ("backward", "pair", "book"):
        options["optimize"] = "yes"
    return options


def directives(pictures):
    """``{file name: options}`` for make_gallery's ``pictures()``."""
    return {file: options_of(name, view, style) for name, view, file, _, style in pictures}


def myst_block(options, alt):
    """A MyST directive fence drawing the picture."""
    lines = [f"```{{gcompile}} {options['source']}"]
    lines += [f":{k}: {v}" for k, v in options.items() if k != "source"]
    lines += [f":alt: {alt}", "```"]
    return "\n".join(lines)


def rewrite_gallery(text, table):
    """gallery.md with each ``![alt](images/FILE.svg)`` replaced by the directive drawing it."""
    out = []
    for line in text.splitlines():
        match = IMAGE.match(line)
        if match:
            if match["file"] not in table:
                raise LookupError(f"docs/gallery.md shows images/{match['file']}, which "
                                  f"make_gallery.py does not draw")
            line = myst_block(table[match["file"]], match["alt"])
        out.append(line)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import make_gallery

    for file, opts in directives(make_gallery.pictures()).items():
        print(f"{file}:\n{myst_block(opts, file)}\n")
