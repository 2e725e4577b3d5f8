"""What the About dialog and ``--version`` style reports show: versions and licences.

No Qt import here (and never torch): library versions come from installed-package metadata, so
calling :func:`about_info` is cheap and safe in the headless core.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from typing import Any

import embryo_gui

APP_NAME = "embryo-gui"
APP_TITLE = "Embryo GUI"
APP_ID = "org.embryogui.EmbryoGui"
APP_LICENSE = "MIT"
APP_SUMMARY = ("Repair the annotations of C. elegans embryo time-lapse videos "
               "and export a clean training dataset")

#: Bundled libraries: (display name, distribution names to try in order, licence).
LIBRARIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("PySide6 (Qt for Python)", ("PySide6-Essentials", "PySide6"), "LGPL-3.0-only"),
    ("shiboken6", ("shiboken6",), "LGPL-3.0-only"),
    ("pyqtgraph", ("pyqtgraph",), "MIT"),
    ("NumPy", ("numpy",), "BSD-3-Clause"),
    ("SciPy", ("scipy",), "BSD-3-Clause"),
    ("h5py", ("h5py",), "BSD-3-Clause"),
    ("hdf5plugin", ("hdf5plugin",), "MIT"),
    ("python-blosc", ("blosc",), "BSD-3-Clause"),
    ("OpenCV", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                "opencv-contrib-python"), "Apache-2.0"),
    ("tifffile", ("tifffile",), "BSD-3-Clause"),
    ("PyTorch", ("torch",), "BSD-3-Clause"),
)


def _distribution_version(names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(distribution name, version) of the first installed distribution in ``names``."""
    for name in names:
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None, None


def _project_format_version() -> str:
    """Version of the HDF5 project file format this build writes ("1" if the model lacks one)."""
    try:
        from embryo_gui.model.format import FORMAT_VERSION
    except ImportError:
        return "1"
    return str(FORMAT_VERSION)


def _qt_version(pyside_version: str | None) -> str | None:
    """Qt runtime version when Qt is already loaded, else the PySide6 version (they match)."""
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is not None and hasattr(qtcore, "qVersion"):
        return str(qtcore.qVersion())
    return pyside_version


def about_info() -> dict[str, Any]:
    """Application, file format, Python and bundled-library versions with their licences.

    Returns ``{"name", "title", "app_id", "version", "license", "summary", "format_version",
    "python", "python_implementation", "platform", "qt", "libraries"}`` where ``libraries`` is a
    list of ``{"name", "distribution", "version", "license"}`` (version None when not installed).
    """
    libraries = []
    pyside_version = None
    for display, dists, licence in LIBRARIES:
        dist, version = _distribution_version(dists)
        if display.startswith("PySide6"):
            pyside_version = version
        libraries.append({"name": display, "distribution": dist or dists[0],
                          "version": version, "license": licence})
    return {
        "name": APP_NAME,
        "title": APP_TITLE,
        "app_id": APP_ID,
        "version": embryo_gui.__version__,
        "license": APP_LICENSE,
        "summary": APP_SUMMARY,
        "format_version": _project_format_version(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "qt": _qt_version(pyside_version),
        "libraries": libraries,
    }


def about_text(info: dict[str, Any] | None = None) -> str:
    """Plain-text About report (for the dialog's copy button, ``--version`` and bug reports)."""
    info = about_info() if info is None else info
    lines = [
        f"{info['title']} {info['version']}",
        info["summary"],
        f"Licence: {info['license']}",
        "",
        f"Project file format: {info['format_version']}",
        f"Python: {info['python']} ({info['python_implementation']})",
        f"Qt: {info['qt'] or 'not installed'}",
        f"Platform: {info['platform']}",
        "",
        "Bundled libraries:",
    ]
    width = max(len(lib["name"]) for lib in info["libraries"])
    for lib in info["libraries"]:
        version = lib["version"] or "not installed"
        lines.append(f"  {lib['name']:<{width}}  {version:<16}  {lib['license']}")
    return "\n".join(lines) + "\n"
