"""Sphinx extension of the segdend site: the pages that are generated from the code at build time.

* ``api/index.rst``: the API reference, one autosummary entry per name in ``segdend.__all__``
  (classes, functions, other objects), so a name added to ``__all__`` appears without an edit.
* ``_generated/presets.md``: every configuration key with its value in each preset, read from
  :data:`segdend.config.PRESETS` through :func:`segdend.config.build_config`.
* Pages written by others (``exchange.md``, ``recording-voltages.md``, the changelog from
  ``../CHANGELOG.md``) enter the table of contents only when their file exists; the results page
  includes ``../RESULTS.md`` when it exists and otherwise says how it is made.
* MathJax 3 is copied from the ``django-static-mathjax`` wheel into ``_static/mathjax``: the pages
  load nothing from the network.

Generated files live in ignored folders (``docs/api/``, ``docs/_generated/``); they are rewritten
only when their content changes, so an incremental build stays incremental.
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import posixpath
import re
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Pages other people write: docname -> file whose presence puts the page in the site.
OPTIONAL_PAGES = {
    "exchange": "exchange.md",
    "recording-voltages": "recording-voltages.md",
    "changelog": "../CHANGELOG.md",
}

RESULTS_BEGIN = "<!-- results: begin -->"
RESULTS_END = "<!-- results: end -->"
RESULTS_MISSING = """\
`RESULTS.md` is not in this checkout. It is generated from the committed full-scale
reproductions under `results/` by `make results`; build the site again afterwards and it appears
on this page.
"""


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------- API reference


def api_page(module_name: str = "segdend") -> str:
    """The autosummary page of every name in ``module.__all__``, grouped by kind."""
    module = importlib.import_module(module_name)
    names = list(getattr(module, "__all__", []))
    if not names:
        logger.warning("%s.__all__ is missing or empty: the API reference lists nothing",
                       module_name)
    groups: dict[str, list[str]] = {"Classes": [], "Functions": [], "Other objects": []}
    for name in names:
        obj = getattr(module, name, None)
        if obj is None:
            logger.warning("%s.__all__ names %r, which the module does not define",
                           module_name, name)
            continue
        if inspect.isclass(obj):
            groups["Classes"].append(name)
        elif callable(obj):
            groups["Functions"].append(name)
        else:
            groups["Other objects"].append(name)
    templates = {"Classes": "autosummary/class.rst", "Functions": "autosummary/function.rst",
                 "Other objects": "autosummary/base.rst"}
    lines = [
        ".. This page is generated from segdend.__all__ by docs/_ext/segdend_docs.py;",
        "   edit the docstrings, not this file.",
        "",
        "API reference",
        "=============",
        "",
        f".. currentmodule:: {module_name}",
        "",
        "Everything below is imported from the top-level package, ``import segdend``; the",
        "list is ``segdend.__all__``, read when the site is built. The command line "
        "(:doc:`/cli`)",
        "is a thin layer over these functions. The equation-by-equation reference engine and the",
        "model's functions are documented in :doc:`/internals`; every configuration key in",
        ":doc:`/configuration`.",
        "",
    ]
    for title, members in groups.items():
        if not members:
            continue
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated",
                  f"   :template: {templates[title]}", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in members]
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------ preset table


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, documented object path) of every leaf field, in source order."""
    keys: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        dotted = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _config_keys(annotation, f"{dotted}.")
        else:
            keys.append((dotted, f"{model.__module__}.{model.__qualname__}.{name}"))
    return keys


def _lookup(config: BaseModel, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def format_value(value: Any) -> str:
    """A value as it is written in a TOML config or on ``--set`` (``none`` for None)."""
    if value is None:
        return "`none`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, Path):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[" + ", ".join(format_value(v).strip("`") for v in value) + "]`"
    return f"`{value!r}`"


def preset_tables() -> str:
    """Markdown tables: the keys on which the presets differ, then every key in each preset."""
    from segdend.config import PRESETS, Config, build_config

    presets = [name for name in PRESETS]
    configs = {name: build_config(name) for name in presets}
    header = "| key | " + " | ".join(f"`{name}`" for name in presets) + " |"
    rule = "|---|" + "---|" * len(presets)
    differing, every = [header, rule], [header, rule]
    for dotted, target in _config_keys(Config):
        if dotted == "preset":
            continue
        values = [_lookup(configs[name], dotted) for name in presets]
        cells = [format_value(v) for v in values]
        differs = any(v != values[0] for v in values[1:])
        key = f"{{py:obj}}`{dotted} <{target}>`"
        if differs:
            differing.append(f"| {key} | " + " | ".join(cells) + " |")
            cells = [f"**{c}**" for c in cells]
        every.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join([
        "<!-- Generated from segdend.config by docs/_ext/segdend_docs.py; do not edit. -->",
        "",
        "(preset-differences)=",
        "### Keys on which the presets differ",
        "",
        *differing,
        "",
        "(preset-all-keys)=",
        "### Every key in each preset",
        "",
        "Values on which the presets differ are in bold. `none` is how TOML files and `--set`",
        "write Python's `None`.",
        "",
        *every,
        "",
    ])


# ------------------------------------------------------------------- build-time hooks


def remove_stale_examples(src: Path) -> None:
    """Delete gallery pages whose example script is gone (they would be orphan documents)."""
    gallery, examples = src / "auto_examples", src / "examples"
    for page in [*gallery.rglob("*.rst"), *gallery.rglob("*.py")]:
        relative = page.relative_to(gallery)
        if page.name == "index.rst" or (examples / relative.with_suffix(".py")).exists():
            continue
        for generated in page.parent.glob(page.stem + ".*"):
            generated.unlink(missing_ok=True)


def generate_sources(app: Sphinx, config: Any) -> None:
    """Write the generated pages and drop missing optional pages (``config-inited``)."""
    src = Path(app.srcdir)
    remove_stale_examples(src)
    _write_if_changed(src / "api" / "index.rst", api_page())
    _write_if_changed(src / "_generated" / "presets.md", preset_tables())
    missing = {doc for doc, path in OPTIONAL_PAGES.items() if not (src / path).exists()}
    app.env_missing_pages = missing  # type: ignore[attr-defined]
    if "changelog" in missing:
        config.exclude_patterns.append("changelog.md")
    config.exclude_patterns.append("_generated/*")


_TOCTREE_FENCE = re.compile(r"```\{toctree\}.*?```", re.S)


def adapt_sources(app: Sphinx, docname: str, source: list[str]) -> None:
    """Remove missing optional pages from toctrees; include RESULTS.md when it exists."""
    missing: set[str] = getattr(app, "env_missing_pages", set())
    text = source[0]
    if missing:
        def drop(match: re.Match[str]) -> str:
            lines = match.group(0).split("\n")
            return "\n".join(line for line in lines if line.strip() not in missing)

        text = _TOCTREE_FENCE.sub(drop, text)
        # {doc}`page` and {doc}`text <page>` links to a missing page become plain text.
        for doc in missing:
            link = re.compile(r"\{doc\}`([^`<]*?)\s*<" + re.escape(doc) + ">`")
            text = link.sub(r"\1", text)
            text = text.replace("{doc}`" + doc + "`", f"`{doc}.md` (not written yet)")
    if docname == "results" and not (Path(app.srcdir) / ".." / "RESULTS.md").exists():
        start, end = text.find(RESULTS_BEGIN), text.find(RESULTS_END)
        if start >= 0 and end > start:
            text = text[: start] + RESULTS_MISSING + text[end + len(RESULTS_END):]
    source[0] = text


MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors")


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax 3 (the ``django-static-mathjax`` wheel) into ``_static/mathjax``."""
    if exception is not None or app.builder.format != "html":
        return
    try:
        source = importlib.resources.files("mathjax") / "static" / "mathjax" / "es5"
    except ModuleNotFoundError:
        logger.warning("MathJax is not installed (pip install -e '.[docs]'): math will not render")
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        path = Path(str(source)) / part
        if path.is_dir():
            shutil.copytree(path, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / part)


#: Pages whose source depends on which optional files exist: re-read at every build.
DEPENDENT_PAGES = ["index", "user-guide", "results", "changelog", "neurons"]


def always_reread(app: Sphinx, env: Any, added: set[str], changed: set[str],
                  removed: set[str]) -> list[str]:
    """Re-read the pages whose toctree or content depends on optional files (cheap)."""
    return [doc for doc in DEPENDENT_PAGES if doc in env.found_docs]


_ABSOLUTE_VALUE = re.compile(r"(?<![|\\\w])\|([^|\n`]*\([^|\n`]*)\|(?![|\w])")


def escape_absolute_values(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                           lines: list[str]) -> None:
    """``|N(0, sd)|`` in a docstring is an absolute value, not a reST substitution."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        table_row = stripped.startswith("+") or (stripped.startswith("|")
                                                 and stripped.endswith("|"))
        if not table_row:
            lines[i] = _ABSOLUTE_VALUE.sub(r"\\|\1\\|", line)


def fresh_source_pages(app: Sphinx) -> None:
    """Remove the highlighted sources of an earlier build (``builder-inited``).

    viewcode rewrites ``_modules/*.html`` only when a module is newer than its page, even with
    ``-E``, so a page written before an object was documented would lack its anchor.
    """
    if app.builder.format == "html":
        shutil.rmtree(Path(app.outdir) / "_modules", ignore_errors=True)


_BACKLINK = re.compile(r'(<a class="viewcode-back" href=")([^"#]*)#([^"]*)(")')


def fix_source_backlinks(app: Sphinx, pagename: str, templatename: str,
                         context: dict[str, Any], doctree: Any) -> None:
    """Point the ``[docs]`` links of highlighted sources at the anchors that exist.

    viewcode builds every back-link of a module from one module name, the one under which the
    module's first object was documented; segdend documents objects both where they are defined
    (``segdend.config.ModelConfig``) and where the API re-exports them (``segdend.Config``).
    Each link is pointed at the object with that name that its target page documents.
    """
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    module = pagename.removeprefix("_modules/").replace("/", ".")
    objects = app.env.get_domain("py").objects
    by_doc: dict[tuple[str, str], str] = {}
    for fullname, entry in objects.items():
        by_doc.setdefault((entry.docname, fullname), entry.node_id)

    def relink(match: re.Match[str]) -> str:
        href, anchor = match.group(2), match.group(3)
        docname = posixpath.normpath(posixpath.join(posixpath.dirname(pagename), href))
        docname = docname.removesuffix(app.builder.out_suffix)
        if (docname, anchor) in by_doc:
            return match.group(0)
        for prefix in (module, "segdend"):
            for name in (anchor.split(".", 1)[-1], anchor.rsplit(".", 1)[-1]):
                node_id = by_doc.get((docname, f"{prefix}.{name}"))
                if node_id:
                    return f"{match.group(1)}{href}#{node_id}{match.group(4)}"
        return match.group(0)

    context["body"] = _BACKLINK.sub(relink, context["body"])


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", fix_source_backlinks)
    app.connect("builder-inited", fresh_source_pages)
    app.connect("config-inited", generate_sources)
    app.connect("source-read", adapt_sources)
    app.connect("env-get-outdated", always_reread)
    app.connect("autodoc-process-docstring", escape_absolute_values)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
