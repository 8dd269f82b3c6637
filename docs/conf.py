"""Sphinx configuration of the segdend documentation site.

Build with ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``).
Generated sources (the API summary from ``segdend.__all__``, the table of preset values, the
examples gallery, MathJax) are written at build time by ``_ext/segdend_docs.py`` and
sphinx-gallery; none of them is committed, so none can go stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import segdend  # noqa: E402

project = "segdend"
author = "the segdend developers"
copyright = "2026, the segdend developers"
release = segdend.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinxcontrib.autodoc_pydantic",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "segdend_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**/.ipynb_checkpoints",
    "examples/README.rst",  # the gallery's header, rendered by sphinx-gallery
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
]
# Cross-references to segdend's own objects must resolve (a broken one fails the -W build);
# references to outside types (numpy.ndarray, pathlib.Path, ...) are plain text, because the
# site is built offline, without intersphinx inventories.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!segdend\b).*")]

# -- MyST (Markdown pages) ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- autodoc, autosummary, numpydoc --------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- autodoc-pydantic (configuration reference) ------------------------------------------
autodoc_pydantic_model_show_json = False
autodoc_pydantic_model_show_config_summary = False
autodoc_pydantic_model_show_config_member = False
autodoc_pydantic_model_show_validator_summary = False
autodoc_pydantic_model_show_validator_members = False
autodoc_pydantic_model_show_field_summary = True
autodoc_pydantic_model_member_order = "bysource"
autodoc_pydantic_model_undoc_members = True
autodoc_pydantic_model_members = True
autodoc_pydantic_model_hide_paramlist = True
autodoc_pydantic_model_signature_prefix = "section"
autodoc_pydantic_field_list_validators = False
autodoc_pydantic_field_show_constraints = True
autodoc_pydantic_field_show_default = True
autodoc_pydantic_field_show_alias = False
autodoc_pydantic_field_signature_prefix = "key"

# -- sphinx-gallery (examples, executed at every build) -------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # every example is executed
    "ignore_pattern": r"(__init__|conftest|_helpers?)\.py$",
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("segdend",),
    "backreferences_dir": "gen_modules/backreferences",
    "remove_config_comments": True,
    "download_all_examples": False,
    "matplotlib_animations": False,
    "show_memory": False,
    # The computation-times pages load jQuery and DataTables from a CDN: the site stays offline.
    "write_computation_times": False,
}

# -- MathJax: a local copy (the site must work offline) -----------------------------------
# segdend_docs copies MathJax 3 from the django-static-mathjax wheel (the ``docs`` extra) into
# _static/mathjax; no page loads anything from the network.
mathjax_path = "mathjax/tex-mml-chtml.js"

# -- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"segdend {release}"
html_static_path = ["_static"]
html_css_files = ["segdend.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    "use_edit_page_button": False,
    "icon_links": [],
}
html_sidebars = {"index": [], "getting-started": []}


# -- the figures of RESULTS.md ---------------------------------------------------------------
# RESULTS.md (included by results.md) shows each figure's PNG as an HTML thumbnail linked to
# results/<folder>/<figure>/<name>.png, relative to the page. Those PNGs are copied, under the
# same relative paths, into a generated folder that Sphinx copies to the site's root.
def _results_figures() -> list[str]:
    import shutil

    extra = DOCS / "_generated" / "extra"
    shutil.rmtree(extra, ignore_errors=True)
    results = DOCS.parent / "results"
    for png in sorted(results.glob("**/*.png")) if results.is_dir() else []:
        target = extra / png.relative_to(DOCS.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
    return [str(extra.relative_to(DOCS))] if extra.is_dir() else []


html_extra_path = _results_figures()
