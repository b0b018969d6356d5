"""Sphinx configuration of skae's documentation.

Build it from the repository root, with warnings as errors, as CI does::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The gallery (``docs/auto_examples/``) runs the scripts of ``examples/``; set
``SKAE_DOCS_NO_GALLERY=1`` to build the pages without running them.
"""

import os
import re
from pathlib import Path

# skae first: importing it selects Keras's torch backend, before
# sphinx-gallery's examples (or autodoc) import Keras.
import skae

# isort: split
from numpydoc.xref import DEFAULT_LINKS

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent  # the scripts of ROOT / "examples" make the gallery

project = "skae"
author = "The skae developers"
copyright = "The skae developers"  # noqa: A001
version = release = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
]

templates_path = ["_templates"]
# The gallery writes a notebook next to each example: only docs/notebooks/ are
# pages of their own.
exclude_patterns = ["_build", "images", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
default_role = "literal"

# -- API reference ----------------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# numpydoc renders the docstrings; the class template lists the methods.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Parameter types are marked up word by word (so that ``n_features_in_`` in a
# shape is not read as a link), without links: intersphinx would need the
# network. Every alias numpydoc brings would link into Python's or NumPy's
# documentation through intersphinx (``:class:`python:float```), which without
# it shows as the text "python:float": each is turned into its plain name.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {name: name for name in DEFAULT_LINKS}

#: Methods inherited from scikit-learn that skae's API pages leave out: the
#: metadata-routing plumbing, whose docstrings point into scikit-learn's own
#: documentation.
_SKIPPED_INHERITED = {"get_metadata_routing"}


def _skip_member(app, what, name, obj, skip, options):
    if name in _SKIPPED_INHERITED or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


_REF = re.compile(r":ref:`(?:([^`<]*?)\s*<([^>`]+)>|([^`<>]+))`")
_SKLEARN_EXAMPLE = "sphx_glr_auto_examples_"


def _sklearn_ref(match):
    """A ``:ref:`` of scikit-learn's documentation, as text or a link there."""
    text, label = match.group(1), match.group(2) or match.group(3)
    if label.startswith(_SKLEARN_EXAMPLE):
        folder, _, name = label.removeprefix(_SKLEARN_EXAMPLE).partition("_plot_")
        url = (
            "https://scikit-learn.org/stable/auto_examples/"
            f"{folder}/plot_{name.removesuffix('.py')}.html"
        )
        return f"`{text or 'this example'} <{url}>`__"
    return text or label


def _unlink_foreign_refs(app, what, name, obj, options, lines):
    """Resolve the ``:ref:`` roles of docstrings inherited from scikit-learn.

    Their labels live in scikit-learn's documentation, not in this one.
    """
    if getattr(obj, "__module__", "").startswith("skae"):
        return
    lines[:] = [_REF.sub(_sklearn_ref, line) for line in lines]


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _unlink_foreign_refs, priority=400)


# -- Gallery ----------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",
    "doc_module": ("skae",),
    "reference_url": {"skae": None},
    "backreferences_dir": str(DOCS / "gen_modules" / "backreferences"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "write_computation_times": False,
    "min_reported_time": 1,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "False" if os.environ.get("SKAE_DOCS_NO_GALLERY") else "True",
}

# -- Notebooks --------------------------------------------------------------

# myst-nb renders docs/notebooks/*.ipynb as pages, executed at each build (the
# notebooks are stored without outputs) in their own folder, so the figures
# are those of this version of skae. SKAE_DOCS_NO_GALLERY=1 skips running
# them too.
nb_execution_mode = "off" if os.environ.get("SKAE_DOCS_NO_GALLERY") else "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True

# -- HTML -------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "auto_examples/index": []}
html_show_sourcelink = False
