"""gcompile.markdown: ```gcompile fences in Python-Markdown and in a throwaway MkDocs site."""
import subprocess
import sys

import pytest

markdown = pytest.importorskip("markdown", reason="needs the markdown extra")

import gcompile as gc  # noqa: E402
from gcompile.docfigure import build_figure, draw_figure, parse_options  # noqa: E402
from gcompile.examples import apple  # noqa: E402
from gcompile.markdown import GcompileExtension  # noqa: E402

from test_sphinx import CALLABLE  # noqa: E402  (the same callable and wrong custom op)

PAGE = """# Diagrams

Some text.

```gcompile
source: apple
show: pair
wrt: apple, tax
caption: The seed example
```

```gcompile
graphs/apple.json
output: price
feed: apple=100, apple_num=2, tax=1.1
show: backward
check: true
alt: apple gradients from a JSON file
```

~~~gcompile
source: mymodel:tanh_chain
show: forward
check: yes
~~~

```python
print("an ordinary fence stays code")
```
"""


def _site(tmp_path, page=PAGE, **config):
    (tmp_path / "docs" / "graphs").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text(page)
    (tmp_path / "mymodel.py").write_text(CALLABLE)
    gc.save(apple()[0], tmp_path / "docs" / "graphs" / "apple.json")
    options = "".join(f"      {k}: {v}\n" for k, v in {"base_dir": "docs", "cache_dir": "cache",
                                                          **config}.items())
    (tmp_path / "mkdocs.yml").write_text(f"site_name: throwaway\nmarkdown_extensions:\n"
                                         f"  - fenced_code\n  - gcompile.markdown:\n{options}")


def _mkdocs(tmp_path):
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})


def test_mkdocs_site_inlines_diagrams_and_does_not_redraw(tmp_path):
    _site(tmp_path)
    run = _mkdocs(tmp_path)
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    cached = sorted((tmp_path / "cache").glob("gcompile-*.svg"))
    assert [p.name.split("-")[1] for p in cached] == ["backward", "forward", "pair"]
    assert html.count('<figure class="gcompile-diagram">') == 3 and html.count("<svg") == 3
    assert "<figcaption>The seed example</figcaption>" in html
    assert 'aria-label="apple gradients from a JSON file"' in html
    assert "an ordinary fence stays code" in html and "<?xml" not in html
    fig = build_figure(parse_options({"source": "apple", "show": "pair", "wrt": "apple, tax"}))
    assert (tmp_path / "cache" / f"{fig.name}.svg").read_bytes() == draw_figure(fig)
    assert "= 2.2" in html and "= 110" in html  # the JSON file's gradients, fed by feed:
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    run = _mkdocs(tmp_path)
    assert run.returncode == 0, run.stderr
    assert {p: p.stat().st_mtime_ns for p in cached} == stamps  # not redrawn
    assert sorted((tmp_path / "cache").glob("gcompile-*")) == cached


def test_mkdocs_linked_files(tmp_path):
    _site(tmp_path, inline="false", image_dir="site/diagrams", image_url="diagrams/")
    run = _mkdocs(tmp_path)
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    files = sorted((tmp_path / "site" / "diagrams").glob("gcompile-*.svg"))
    assert len(files) == 3 and "<svg" not in html
    for file in files:
        assert f'<img src="diagrams/{file.name}"' in html
        assert file.read_bytes() == (tmp_path / "cache" / file.name).read_bytes()


def test_mkdocs_check_fails_on_a_wrong_custom_op(tmp_path):
    _site(tmp_path, page="# Bad\n\n```gcompile\nsource: mymodel:bad_square\ncheck: true\n```\n")
    run = _mkdocs(tmp_path)
    assert run.returncode != 0
    assert "index.md" in run.stderr
    assert ("```gcompile fence at line 3: gradient check of 'mymodel:bad_square' failed"
            in run.stderr), run.stderr


@pytest.mark.parametrize("text, message", [
    ("```gcompile\nsource: pear\n```", "fence at line 1: no graph file, bundled example"),
    ("x\n\n```gcompile\napple\nshow: sideways\n```", "fence at line 3: show: unknown value"),
    ("```gcompile\nsource: apple\nnot an option\n```", "fence at line 3: expected 'key: value'"),
    ("```gcompile\nsource: apple\n", "fence at line 1 is never closed"),
])
def test_bad_fences_name_the_line(tmp_path, text, message):
    with pytest.raises(gc.GraphError, match=message):
        markdown.markdown(text, extensions=[GcompileExtension(cache_dir=str(tmp_path))])


def test_entry_point_name_and_missing_extra(tmp_path):
    html = markdown.markdown("```gcompile\napple_orange\nshow: passes\n```",
                             extensions=["gcompile.markdown"],
                             extension_configs={"gcompile.markdown": {"cache_dir": str(tmp_path)}})
    assert "<svg" in html and "passes" in html
    code = ("import sys; sys.modules['markdown'] = None\nimport gcompile as gc\n"
            "try:\n    import gcompile.markdown\nexcept gc.GraphError as err:\n    print(err)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'gcompile[markdown]'" in run.stdout, run.stderr
