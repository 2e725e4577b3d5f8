"""Data-only package: icons and style sheets of embryo-gui.

Installed as ``embryo_gui.resources_data`` (see ``[tool.setuptools]`` in pyproject.toml);
read it through :mod:`embryo_gui.resources`, never by path from the source tree.
"""
