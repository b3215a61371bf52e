"""Python-Markdown extension: ```` ```gcompile ```` fences become gradient diagrams (MkDocs too).

A fence holds the options of the Sphinx directive as ``key: value`` lines::

    ```gcompile
    source: apple            (a graph file, a bundled example name or module:callable)
    show: pair               (forward | backward | pair | book | passes | hessian | hvp | view)
    wrt: apple, tax
    feed: tax=1.2
    check: true              (finite-difference gradient check; a mismatch stops the build)
    optimize: true           (draw the backward graph after gc.optimize's passes)
    caption: The apple price and its gradients
    ```

(a first line without a colon is the source).  In ``mkdocs.yml``::

    markdown_extensions:
      - gcompile.markdown:
          base_dir: docs         # where graph files are looked up (default: the current folder)
          inline: true           # inline SVG (default); false: an <img> linking the file
          image_dir: site/diagrams
          image_url: /diagrams/

Each diagram is drawn once into ``cache_dir`` (default ``.gcompile-cache``)
under a name hashed from its content and options, and reused from there.
Needs the ``markdown`` extra: ``pip install 'gcompile[markdown]'``.

Examples
--------
>>> import markdown, tempfile
>>> html = markdown.markdown("```gcompile\\nsource: apple\\nshow: forward\\n```",
...                          extensions=[GcompileExtension(cache_dir=tempfile.mkdtemp())])
>>> html.startswith('<figure class="gcompile-diagram"') and "<svg" in html
True
"""
from __future__ import annotations

import os
import re
import shutil
from html import escape
from pathlib import Path

from .errors import GraphError

try:
    from markdown.extensions import Extension
    from markdown.preprocessors import Preprocessor
except ImportError:  # pragma: no cover - exercised by a subprocess test without markdown
    raise GraphError("gcompile.markdown needs Python-Markdown: "
                     "pip install 'gcompile[markdown]'") from None

from .docfigure import build_figure, draw_figure, parse_options

__all__ = ["GcompileExtension", "makeExtension"]

_OPEN = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*\{?gcompile\}?\s*$")
_PROLOG = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)


def _parse(lines, first_line):
    options = {}
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or " " in key.strip():
            if not options and offset == 0:
                options["source"] = line.strip()
                continue
            raise GraphError(f"```gcompile fence at line {first_line + offset}: expected "
                             f"'key: value', got {line.strip()!r}")
        options[key.strip()] = value.strip()
    return options


class _FencePreprocessor(Preprocessor):
    def __init__(self, md, config):
        super().__init__(md)
        self.config = config

    def run(self, lines):
        out, i = [], 0
        while i < len(lines):
            match = _OPEN.match(lines[i])
            if not match:
                out.append(lines[i])
                i += 1
                continue
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].strip() == match["fence"]), None)
            if end is None:
                raise GraphError(f"```gcompile fence at line {i + 1} is never closed")
            html = self.figure(_parse(lines[i + 1:end], i + 2), i + 1)
            out += ["", self.md.htmlStash.store(html), ""]
            i = end + 1
        return out

    def figure(self, options, line):
        cfg = self.config
        try:
            fig = build_figure(parse_options(options), [cfg["base_dir"] or os.getcwd()])
            cache = Path(cfg["cache_dir"]) / f"{fig.name}.{fig.fmt}"
            if not cache.is_file():
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
                tmp.write_bytes(draw_figure(fig))
                os.replace(tmp, cache)
        except GraphError as err:
            raise GraphError(f"```gcompile fence at line {line}: {err}") from None
        alt = escape(fig.alt, quote=True)
        if cfg["inline"] and fig.fmt == "svg":
            svg = _PROLOG.sub(b"", cache.read_bytes()).decode("utf-8")
            svg = svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
            body = f'<div role="img" aria-label="{alt}">{svg}</div>'
        else:
            if cfg["image_dir"]:
                target = Path(cfg["image_dir"]) / cache.name
                if not target.is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(cache, target)
            url = f"{cfg['image_url']}{cache.name}"
            body = (f'<iframe src="{url}" title="{alt}" style="width:100%;height:32em"></iframe>'
                    if fig.fmt == "html" else
                    f'<a href="{url}"><img src="{url}" alt="{alt}" style="max-width:100%"/></a>')
        caption = (f"<figcaption>{escape(fig.spec.caption)}</figcaption>"
                   if fig.spec.caption else "")
        return f'<figure class="gcompile-diagram">{body}{caption}</figure>'


class GcompileExtension(Extension):
    """Registers the ``gcompile`` fence (before ``fenced_code``, which would take it as code)."""

    def __init__(self, **kwargs):
        self.config = {
            "base_dir": ["", "folder where graph files are looked up (default: current folder)"],
            "cache_dir": [".gcompile-cache", "folder of drawn diagrams, by content hash"],
            "inline": [True, "inline the SVG (True) or link a file (False)"],
            "image_dir": ["", "with inline False: folder the linked files are copied to"],
            "image_url": ["", "with inline False: URL prefix of the linked files"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md):  # noqa: N802  (Python-Markdown's name)
        md.preprocessors.register(_FencePreprocessor(md, self.getConfigs()), "gcompile", 30)


def makeExtension(**kwargs):  # noqa: N802  (Python-Markdown's entry point name)
    """Python-Markdown's hook: ``markdown.markdown(text, extensions=["gcompile.markdown"])``."""
    return GcompileExtension(**kwargs)
