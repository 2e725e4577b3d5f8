"""Packaging metadata agrees with what the app and the bundle really do (docs/PACKAGING.md).

The desktop entry and the AppStream file validate with the freedesktop tools where they are
installed (Debian: desktop-file-utils, appstream; .ci/run installs them); the launcher, the spec,
pyproject's entry points and the metadata name the same programs; a --demo run leaves no
temporary folder behind.
"""

from __future__ import annotations

import argparse
import configparser
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / "org.embryogui.EmbryoGui.desktop"
METAINFO = LINUX / "org.embryogui.EmbryoGui.metainfo.xml"
SPEC = ROOT / "packaging" / "embryo-gui.spec"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def _launcher():
    spec = importlib.util.spec_from_file_location("embryo_gui_launcher", ROOT / "packaging" / "embryo_gui_launcher.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install "
                    f"{'desktop-file-utils' if name == 'desktop-file-validate' else 'appstream'})")
    return path


# ---------------------------------------------------------------------------------------------
# the freedesktop validators


def test_desktop_file_validate_passes():
    r = subprocess.run([_tool("desktop-file-validate"), str(DESKTOP)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


def test_appstreamcli_validate_passes_strictly():
    r = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", "--strict", str(METAINFO)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------------------------------------
# metadata consistency


def _gui_positionals() -> list[argparse.Action]:
    from embryo_gui.gui.app import _parser
    return [a for a in _parser()._actions if not a.option_strings]


def test_exec_field_code_matches_what_the_app_accepts():
    entry = _desktop_entry()
    exec_words = entry["Exec"].split()
    assert exec_words[0] == entry["TryExec"] == "embryo-gui"
    codes = [w for w in exec_words[1:] if w.startswith("%")]
    (positional,) = _gui_positionals()
    # %f: at most one file; %F: a list -- it must be what argparse takes, or a second file
    # dropped on the launcher ends in "unrecognized arguments"
    if positional.nargs in (None, "?"):
        assert codes == ["%f"], f"the app takes one file ({positional.nargs!r}): Exec needs %f, not {codes}"
    else:
        assert codes == ["%F"]
    from embryo_gui.gui.app import _parser
    with pytest.raises(SystemExit):
        with open(os.devnull, "w") as devnull, _redirect_stderr(devnull):
            _parser().parse_args(["a.h5", "b.h5"])


def _redirect_stderr(f):
    import contextlib
    return contextlib.redirect_stderr(f)


def test_desktop_id_matches_app_id_metainfo_and_set_desktop_file_name(qapp, tmp_path):
    from embryo_gui import about
    from embryo_gui.gui.app import main

    assert DESKTOP.name == f"{about.APP_ID}.desktop" and METAINFO.name == f"{about.APP_ID}.metainfo.xml"
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == about.APP_ID
    assert root.find("launchable").text == DESKTOP.name
    assert _desktop_entry()["Icon"] == about.APP_ID
    qapp.setDesktopFileName("")
    assert main(["--quit-after", "0.05", "--settings", str(tmp_path / "s.ini"),
                 "--recovery-dir", str(tmp_path / "rec")]) == 0
    # what Wayland's xdg-shell app id and X11's _GTK_APPLICATION_ID are set from
    assert qapp.desktopFileName() == about.APP_ID
    # X11 window managers match StartupWMClass against WM_CLASS, which Qt takes from the app name
    assert _desktop_entry()["StartupWMClass"] == qapp.applicationName() == "embryo-gui"


def test_provided_binaries_are_the_entry_points_and_the_bundle_serves_them_all():
    root = ET.parse(METAINFO).getroot()
    provided = {b.text for b in root.findall("provides/binary")}
    scripts = set(PYPROJECT["project"]["scripts"]) | set(PYPROJECT["project"]["gui-scripts"])
    assert provided == scripts == {"embryo-gui", "embryo-repair"}
    launcher = _launcher()
    # the bundle's one executable dispatches on its name; the spec makes the CLI's name
    assert {launcher.entry_name(f"/opt/embryo-gui/{n}") for n in scripts} == {"gui", "cli"}
    assert launcher.entry_name("/x/embryo-repair") == "cli" and launcher.entry_name("embryo-repair.exe") == "cli"
    assert launcher.entry_name("/x/embryo-gui") == "gui" and launcher.entry_name("") == "gui"
    spec = SPEC.read_text(encoding="utf-8")
    assert 'os.symlink("embryo-gui", _cli)' in spec and '_cli = APP_DIR / "embryo-repair"' in spec
    assert 'name="embryo-repair"' in spec  # the Windows console executable
    # and the launcher calls the same functions as the entry points
    src = (ROOT / "packaging" / "embryo_gui_launcher.py").read_text(encoding="utf-8")
    for name, target in {**PYPROJECT["project"]["scripts"], **PYPROJECT["project"]["gui-scripts"]}.items():
        module, func = target.split(":")
        assert f"from {module} import {func}" in src, (name, target)


def test_metainfo_release_and_licence_match_the_package():
    import embryo_gui
    root = ET.parse(METAINFO).getroot()
    assert root.find("releases/release").get("version") == embryo_gui.__version__
    assert root.findtext("project_license") == PYPROJECT["project"]["license"] == "MIT"


def test_pyproject_licence_is_an_spdx_string_with_existing_files_and_doc_pointers():
    project = PYPROJECT["project"]
    assert isinstance(project["license"], str), "project.license must be an SPDX string (PEP 639)"
    for pattern in project["license-files"]:
        assert list(ROOT.glob(pattern)), pattern
    requires = " ".join(PYPROJECT["build-system"]["requires"])
    assert "setuptools>=77" in requires  # the first setuptools that reads PEP 639 licence fields
    import re
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for doc in set(re.findall(r"docs/[\w./-]+\.md", text)):
        assert (ROOT / doc).is_file(), f"pyproject.toml points to a missing {doc}"


def test_setuptools_reads_pyproject_without_deprecation_warnings():
    setuptools = pytest.importorskip("setuptools")
    from setuptools.config.pyprojecttoml import read_configuration

    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (77, 0):
        pytest.skip(f"setuptools {setuptools.__version__} predates PEP 639 licence fields")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = read_configuration(ROOT / "pyproject.toml", expand=True)
    messages = [str(w.message) for w in caught if "license" in str(w.message).lower()
                or issubclass(w.category, DeprecationWarning)]
    assert not messages, messages
    assert config["project"]["license"] == "MIT"


def test_qt_licence_texts_ship_with_the_packaging():
    lgpl = (ROOT / "packaging" / "licenses" / "LGPL-3.0.txt").read_text(encoding="utf-8")
    gpl = (ROOT / "packaging" / "licenses" / "GPL-3.0.txt").read_text(encoding="utf-8")
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in lgpl and "Version 3, 29 June 2007" in lgpl
    assert "GNU GENERAL PUBLIC LICENSE" in gpl and "Version 3, 29 June 2007" in gpl
    spec = SPEC.read_text(encoding="utf-8")
    assert '"LGPL-3.0.txt", "GPL-3.0.txt"' in spec


def test_spec_never_puts_the_source_tree_on_the_module_path():
    spec = SPEC.read_text(encoding="utf-8")
    assert "pathex=[]" in spec and "pathex=[str(ROOT)]" not in spec
    build = (ROOT / "packaging" / "build_linux.sh").read_text(encoding="utf-8")
    assert 'cd "$run_dir"' in build and "unset PYTHONPATH" in build


# ---------------------------------------------------------------------------------------------
# --demo runs remove their temporary folder


def _demo_env(tmp_path: Path) -> dict:
    env = dict(os.environ, TMPDIR=str(tmp_path), QT_QPA_PLATFORM="offscreen", OMP_WAIT_POLICY="PASSIVE",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def _demo_cmd(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "embryo_gui.gui.app", "--demo", "--demo-frames", "8",
            "--settings", str(tmp_path / "s.ini"), "--recovery-dir", str(tmp_path / "rec"), *extra]


@pytest.mark.slow
def test_demo_run_removes_its_temp_folder_on_exit(tmp_path):
    r = subprocess.run(_demo_cmd(tmp_path, "--quit-after", "0.5"), env=_demo_env(tmp_path), cwd=tmp_path,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert not list(tmp_path.glob("embryo-gui-demo-*")), "the demo folder was left behind"


@pytest.mark.slow
def test_demo_run_removes_its_temp_folder_on_sigterm(tmp_path):
    proc = subprocess.Popen(_demo_cmd(tmp_path, "--quit-after", "120"), env=_demo_env(tmp_path), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("embryo-gui-demo-*/demo.h5")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.1)
        time.sleep(1.5)  # into Qt's event loop
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM
    assert not list(tmp_path.glob("embryo-gui-demo-*")), "the demo folder was left behind after SIGTERM"


# ---------------------------------------------------------------------------------------------
# helpers of the bundle build and check


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_hdf5plugin_runtime_hook_drops_only_the_trimmed_filters_messages():
    import logging
    hook = _load(ROOT / "packaging" / "rthook_hdf5plugin.py")
    keep = hook._TrimmedFilters().filter

    def record(msg):
        return logging.LogRecord("hdf5plugin._utils", logging.ERROR, __file__, 0, msg, None, None)
    assert not keep(record("Cannot initialize filter sz3: File not found"))
    assert not keep(record("Cannot initialize filter bzip2: File not found"))
    assert keep(record("Cannot initialize filter blosc: File not found"))  # the one we need
    assert keep(record("Failed to load filter zstd: /x/libh5zstd.so"))


def test_xwd2png_converts_a_24_bit_dump():
    import struct
    import zlib
    xwd2png = _load(ROOT / "packaging" / "xwd2png.py")
    w, h, name = 3, 2, b"x\x00"
    pixels = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30), (40, 50, 60), (70, 80, 90)]
    bpl = 12  # padded rows
    header = struct.pack(">25I", 100 + len(name), 7, 2, 24, w, h, 0, 0, 32, 0, 32, 24, bpl, 4,
                         0xFF0000, 0xFF00, 0xFF, 8, 0, 0, w, h, 0, 0, 0) + name
    body = b""
    for y in range(h):
        row = b"".join(bytes((b, g, r)) for r, g, b in pixels[y * w:(y + 1) * w])
        body += row + b"\x00" * (bpl - len(row))
    width, height, raw = xwd2png.xwd_to_rgb(header + body)
    assert (width, height) == (w, h)
    assert raw == b"".join(b"\x00" + b"".join(bytes(p) for p in pixels[y * w:(y + 1) * w]) for y in range(h))
    png = xwd2png.png_bytes(width, height, raw)
    assert png.startswith(b"\x89PNG") and zlib.decompress(png[png.index(b"IDAT") + 4:-16]) == raw
