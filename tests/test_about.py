"""About data reports the real installed versions without importing Qt or torch."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys

import embryo_gui
from embryo_gui import about


def _lib(info: dict, name: str) -> dict:
    (lib,) = [lib for lib in info["libraries"] if lib["name"] == name]
    return lib


def test_versions_are_the_installed_distributions():
    info = about.about_info()
    assert info["version"] == embryo_gui.__version__
    assert info["python"] == platform.python_version()
    expected = {
        "PySide6 (Qt for Python)": "PySide6-Essentials",
        "pyqtgraph": "pyqtgraph",
        "NumPy": "numpy",
        "SciPy": "scipy",
        "h5py": "h5py",
        "OpenCV": "opencv-python-headless",
        "tifffile": "tifffile",
        "PyTorch": "torch",
        "hdf5plugin": "hdf5plugin",
        "python-blosc": "blosc",
    }
    for name, dist in expected.items():
        lib = _lib(info, name)
        assert lib["distribution"] == dist
        assert lib["version"] == importlib.metadata.version(dist), name


def test_licences_of_the_bundled_libraries():
    info = about.about_info()
    licences = {lib["name"]: lib["license"] for lib in info["libraries"]}
    assert licences == {
        "PySide6 (Qt for Python)": "LGPL-3.0-only", "shiboken6": "LGPL-3.0-only",
        "pyqtgraph": "MIT", "NumPy": "BSD-3-Clause", "SciPy": "BSD-3-Clause",
        "h5py": "BSD-3-Clause", "OpenCV": "Apache-2.0", "tifffile": "BSD-3-Clause",
        "PyTorch": "BSD-3-Clause", "hdf5plugin": "MIT", "python-blosc": "BSD-3-Clause",
    }
    assert info["license"] == "MIT"


def test_format_version_comes_from_the_model_when_present():
    try:
        from embryo_gui.model.format import FORMAT_VERSION
    except ImportError:
        FORMAT_VERSION = "1"
    assert about.about_info()["format_version"] == str(FORMAT_VERSION)


def test_missing_library_is_reported_as_not_installed(monkeypatch):
    monkeypatch.setattr(about, "LIBRARIES", about.LIBRARIES + (("Nothing", ("no-such-dist-xyz",), "MIT"),))
    info = about.about_info()
    lib = _lib(info, "Nothing")
    assert lib == {"name": "Nothing", "distribution": "no-such-dist-xyz", "version": None, "license": "MIT"}
    line = [l for l in about.about_text(info).splitlines() if l.strip().startswith("Nothing")][0]
    assert "not installed" in line and line.rstrip().endswith("MIT")


def test_opencv_falls_back_to_other_distribution_names(monkeypatch):
    real = importlib.metadata.version

    def fake(name):
        if name == "opencv-python-headless":
            raise importlib.metadata.PackageNotFoundError(name)
        if name == "opencv-python":
            return "4.9.0.80"
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", fake)
    lib = _lib(about.about_info(), "OpenCV")
    assert (lib["distribution"], lib["version"]) == ("opencv-python", "4.9.0.80")


def test_about_text_lists_every_library_with_version_and_licence():
    info = about.about_info()
    text = about.about_text(info)
    lines = text.splitlines()
    assert lines[0] == f"Embryo GUI {embryo_gui.__version__}"
    assert f"Project file format: {info['format_version']}" in lines
    assert f"Python: {platform.python_version()} ({platform.python_implementation()})" in lines
    for lib in info["libraries"]:
        (line,) = [l for l in lines if l.strip().startswith(lib["name"] + " ")]
        assert lib["version"] in line and line.rstrip().endswith(lib["license"])


def test_about_imports_neither_qt_nor_torch():
    code = ("import sys, embryo_gui.about as a; a.about_text(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         timeout=120).stdout.strip()
    assert out == "[]"


def test_qt_version_is_the_runtime_one_once_qt_is_loaded():
    from PySide6 import QtCore

    assert about.about_info()["qt"] == QtCore.qVersion()
