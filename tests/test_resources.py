"""Icons, style sheets and packaging metadata load through importlib and are valid."""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from embryo_gui import resources  # noqa: E402
from embryo_gui.errors import EmbryoError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SVG_NS = "{http://www.w3.org/2000/svg}"

# ---------------------------------------------------------------------------------------------
# icons


def test_every_toolbar_icon_the_gui_needs_is_installed():
    names = resources.icon_names()
    assert set(resources.TOOLBAR_ICONS) <= set(names)
    assert len(resources.TOOLBAR_ICONS) == 18


@pytest.mark.parametrize("name", resources.TOOLBAR_ICONS)
def test_toolbar_icon_is_square_svg_drawn_in_the_ink_colour(name):
    root = ET.fromstring(resources.read_bytes(f"icons/{name}.svg"))
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 24 24"
    drawn = [el for el in root.iter() if el.tag in {f"{SVG_NS}{t}" for t in ("path", "circle", "rect")}]
    assert drawn, "icon draws nothing"
    assert resources.ICON_INK in resources.read_text(f"icons/{name}.svg")


def test_icon_svg_reinks_every_stroke_and_fill():
    text = resources.icon_svg("save", color="#123456")
    assert resources.ICON_INK not in text
    assert text.count("#123456") == resources.read_text("icons/save.svg").count(resources.ICON_INK)
    dark = resources.icon_svg("play", theme="dark")
    assert resources.ICON_COLORS["dark"] in dark and resources.ICON_INK not in dark
    with pytest.raises(EmbryoError, match="#rrggbb"):
        resources.icon_svg("save", color="red")
    with pytest.raises(EmbryoError, match="unknown icon 'nope'"):
        resources.icon_path("nope")


def test_icon_path_is_a_real_file_inside_the_installed_resources():
    path = resources.icon_path("undo")
    assert path.is_file() and path.name == "undo.svg"
    assert path.read_bytes() == resources.read_bytes("icons/undo.svg")


@pytest.mark.parametrize("size", resources.APP_ICON_SIZES)
def test_app_icon_png_has_its_size_and_a_transparent_rounded_corner(size):
    path = resources.app_icon_path(size)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    assert image.shape == (size, size, 4)
    assert image[0, 0, 3] == 0  # outside the rounded square
    assert image[size // 2, size // 2, 3] == 255  # the embryo is opaque
    b, g, r = (int(v) for v in image[size // 2, size // 2, :3])
    assert g > r and g > b  # green nucleus / embryo in the middle


def test_app_icon_sizes_are_exactly_the_required_ones():
    assert resources.APP_ICON_SIZES == (16, 32, 48, 64, 128, 256, 512)
    with pytest.raises(EmbryoError, match="no 20px application icon"):
        resources.app_icon_path(20)


def test_app_icon_svg_is_valid_xml():
    root = ET.parse(resources.app_icon_path()).getroot()
    assert root.tag == f"{SVG_NS}svg" and root.get("viewBox") == "0 0 256 256"
    assert len(root.findall(f".//{SVG_NS}circle")) >= 7


def _svg_resource_names() -> list[str]:
    base = resources.app_icon_path().parent.parent
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*.svg"))


def test_every_svg_renders_with_qt(qapp):
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    names = _svg_resource_names()
    assert len(names) >= 18 + 1 + 2 * 5
    for name in names:
        renderer = QSvgRenderer(QByteArray(resources.read_bytes(name)))
        assert renderer.isValid(), name
        image = QImage(32, 32, QImage.Format.Format_ARGB32)
        image.fill(QColor(0, 0, 0, 0))
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        alpha = np.frombuffer(image.constBits(), np.uint8).reshape(32, 32, 4)[..., 3]
        assert (alpha > 0).sum() >= 8, f"{name} renders (almost) nothing"


# ---------------------------------------------------------------------------------------------
# resource access


def test_read_text_and_bytes_agree():
    assert resources.read_text("themes/light.qss").encode() == resources.read_bytes("themes/light.qss")


@pytest.mark.parametrize("bad", ["../pyproject.toml", "icons/../../x", "/etc/passwd", "icons\\open.svg", ""])
def test_invalid_resource_names_are_refused(bad):
    with pytest.raises(EmbryoError, match="invalid resource name"):
        resources.resource_path(bad)


def test_missing_resource_names_the_package():
    with pytest.raises(EmbryoError) as info:
        resources.read_text("icons/missing.svg")
    assert str(info.value) == ("embryo_gui.resources_data: resource 'icons/missing.svg' is missing "
                               "from the installed package")


def test_resource_file_context_manager_gives_the_file():
    with resources.resource_file("app/embryo-gui-16.png") as path:
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == (16, 16, 4)


# ---------------------------------------------------------------------------------------------
# style sheets


@pytest.mark.parametrize("theme", resources.THEMES)
def test_stylesheet_urls_point_at_installed_files(theme):
    sheet = resources.stylesheet(theme)
    assert "url({{resources}}" not in sheet
    urls = re.findall(r"url\(([^)]*)\)", sheet)
    assert len(urls) >= 5
    for url in urls:
        assert Path(url).is_absolute() and Path(url).is_file(), url
        assert f"/themes/{theme}/" in url


def test_unknown_theme_is_an_error():
    with pytest.raises(EmbryoError, match="unknown theme 'blue'"):
        resources.stylesheet("blue")


def _qt_warnings_while(fn) -> list[str]:
    from PySide6.QtCore import qInstallMessageHandler

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda _mode, _ctx, msg: messages.append(msg))
    try:
        fn()
    finally:
        qInstallMessageHandler(previous)
    return messages


def _render_themed_widgets(qapp, sheet: str):
    """Apply ``sheet`` to the application, polish a set of widgets, return a rendered frame + pixel."""
    from PySide6.QtWidgets import (QCheckBox, QComboBox, QLineEdit, QPushButton, QSpinBox,
                                   QTableWidget, QToolBar, QVBoxLayout, QWidget)

    qapp.setStyleSheet(sheet)
    window = QWidget()
    layout = QVBoxLayout(window)
    button = QPushButton("Auto-clean")
    button.setProperty("primary", True)
    for child in (QToolBar(), QLineEdit("x"), QSpinBox(), QComboBox(), QCheckBox("c"), button,
                  QTableWidget(2, 2)):
        layout.addWidget(child)
    window.resize(300, 400)
    window.ensurePolished()
    for child in window.findChildren(QWidget):
        child.ensurePolished()
    image = window.grab().toImage()
    return window, button, image


@pytest.mark.parametrize("theme", resources.THEMES)
def test_stylesheet_parses_and_paints_the_theme_colours(qapp, theme):
    from PySide6.QtGui import QColor

    sheet = resources.stylesheet(theme)
    window_bg = re.search(r"QWidget \{\s*background-color: (#[0-9a-f]{6})", sheet).group(1)
    accent = resources.PLOT_COLORS[theme]["accent"]
    try:
        holder: dict = {}
        warnings = _qt_warnings_while(lambda: holder.update(zip(
            ("window", "button", "image"), _render_themed_widgets(qapp, sheet))))
        assert not [w for w in warnings if "parse" in w.lower()], warnings
        image = holder["image"]
        assert image.pixelColor(2, image.height() - 2).name() == window_bg
        button = holder["button"]
        centre = button.mapTo(holder["window"], button.rect().center())
        # the primary button is filled with the accent colour (sample beside the label text)
        sample = image.pixelColor(centre.x() - button.width() // 2 + 4, centre.y())
        assert sample.name() == QColor(accent).name()
    finally:
        qapp.setStyleSheet("")


def test_broken_stylesheet_is_detected_by_the_same_check(qapp):
    try:
        warnings = _qt_warnings_while(lambda: _render_themed_widgets(qapp, "QWidget { color: red; "))
    finally:
        qapp.setStyleSheet("")
    assert any("parse" in w.lower() for w in warnings), warnings


def test_plot_colors_are_copies_with_the_keys_the_gui_uses():
    for theme in resources.THEMES:
        colors = resources.plot_colors(theme)
        assert set(colors) == {"background", "foreground", "grid", "accent", "cursor", "muted"}
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors.values())
        colors["background"] = "#000000"
        assert resources.plot_colors(theme)["background"] != "#000000"
    assert resources.plot_colors("dark")["background"] != resources.plot_colors("light")["background"]


# ---------------------------------------------------------------------------------------------
# packaging: pyproject lists every package and ships every resource


def _setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_pyproject_lists_every_package_on_disk():
    config = _setuptools_config()
    listed = set(config["packages"])
    on_disk = {".".join(d.relative_to(ROOT).parts)
               for d in (ROOT / "embryo_gui").rglob("*")
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))}
    on_disk.add("embryo_gui")
    missing = sorted(on_disk - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert config["package-dir"] == {"embryo_gui.resources_data": "resources"}


def test_package_data_patterns_cover_every_resource_file():
    patterns = _setuptools_config()["package-data"]["embryo_gui.resources_data"]
    base = ROOT / "resources"
    files = [p.relative_to(base).as_posix() for p in base.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"]
    assert len(files) >= 18 + 8 + 2
    unshipped = [f for f in files
                 if not any(fnmatch.fnmatch(f, pat) and f.count("/") == pat.count("/") for pat in patterns)]
    assert not unshipped, f"add patterns for {unshipped} to [tool.setuptools.package-data]"


def test_wheel_ships_resources_and_they_load_from_the_unpacked_wheel(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    for optional in ("README.md", "LICENSE"):
        if (ROOT / optional).exists():
            shutil.copy(ROOT / optional, src)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "embryo_gui", src / "embryo_gui", ignore=ignore)
    shutil.copytree(ROOT / "resources", src / "resources", ignore=ignore)
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheel_dir), str(src)], check=True, capture_output=True, timeout=120)
    (wheel,) = wheel_dir.glob("embryo_gui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"embryo_gui/resources.py", "embryo_gui/about.py",
                "embryo_gui/resources_data/__init__.py",
                "embryo_gui/resources_data/themes/dark.qss",
                "embryo_gui/resources_data/themes/light/check.svg",
                "embryo_gui/resources_data/app/embryo-gui.svg"}
    expected |= {f"embryo_gui/resources_data/icons/{n}.svg" for n in resources.TOOLBAR_ICONS}
    expected |= {f"embryo_gui/resources_data/app/embryo-gui-{s}.png" for s in resources.APP_ICON_SIZES}
    assert expected <= names, sorted(expected - names)
    assert not [n for n in names if n.startswith("resources/")], "resources must not be top-level"

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import embryo_gui.resources as r; "
             "base = str(r.app_icon_path().parent.parent); print(r.icon_path('open')); "
             "print(r.stylesheet('dark').replace(base, '@@').count('@@'))")
    out = subprocess.run([sys.executable, "-I", "-c", probe, str(unpacked)], check=True,
                         capture_output=True, text=True, timeout=60).stdout.split()
    assert Path(out[0]) == unpacked / "embryo_gui/resources_data/icons/open.svg"
    # every url() of the unpacked wheel's style sheet points inside the unpacked wheel
    assert int(out[1]) == len(re.findall(r"url\(", resources.stylesheet("dark"))) >= 5


# ---------------------------------------------------------------------------------------------
# desktop integration files


DESKTOP = ROOT / "packaging" / "linux" / "org.embryogui.EmbryoGui.desktop"
METAINFO = ROOT / "packaging" / "linux" / "org.embryogui.EmbryoGui.metainfo.xml"


def test_desktop_entry_has_the_required_keys():
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Embryo GUI"
    assert entry["Exec"].split()[0] == "embryo-gui"
    assert entry["Icon"] == "org.embryogui.EmbryoGui"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Science" in entry["Categories"].split(";")
    assert entry["Comment"] and entry["StartupWMClass"]
    assert "application/x-hdf5" in entry["MimeType"].split(";")


def test_metainfo_is_valid_appstream_xml_matching_the_desktop_entry():
    from embryo_gui import about

    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == about.APP_ID
    assert root.findtext("name") == about.APP_TITLE
    assert root.findtext("summary")
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == about.APP_LICENSE
    launchable = root.find("launchable")
    assert launchable.get("type") == "desktop-id" and launchable.text == DESKTOP.name
    assert root.find("description/p") is not None
    release = root.find("releases/release")
    import embryo_gui
    assert release.get("version") == embryo_gui.__version__
    assert root.find("provides/binary").text == "embryo-gui"
