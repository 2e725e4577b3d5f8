"""Icons and style sheets shipped with embryo-gui, read through :mod:`importlib.resources`.

The files live in the top-level ``resources/`` folder of the source tree, which the build installs
as the data package ``embryo_gui.resources_data`` (see ``[tool.setuptools]`` in pyproject.toml),
so the same calls work from a wheel, an editable install and a PyInstaller bundle.  Names are
``/``-separated paths relative to that folder, e.g. ``"icons/open.svg"``.

No Qt here: the GUI turns the paths/SVG text into ``QIcon``s itself.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import re
from pathlib import Path
from typing import Iterator

from embryo_gui.errors import EmbryoError

RESOURCE_PACKAGE = "embryo_gui.resources_data"

#: Toolbar icons the GUI uses (``icons/<name>.svg``).
TOOLBAR_ICONS: tuple[str, ...] = (
    "open", "save", "undo", "redo", "play", "pause", "previous-flag", "next-flag",
    "autoclean", "export", "train", "cancel", "exclude", "include", "interpolate",
    "refit", "truncate", "zoom-fit",
)
#: Pixel sizes of the rendered application icon (``app/embryo-gui-<size>.png``).
APP_ICON_SIZES: tuple[int, ...] = (16, 32, 48, 64, 128, 256, 512)
THEMES: tuple[str, ...] = ("light", "dark")

#: The single ink colour every toolbar SVG is drawn with; :func:`icon_svg` replaces it.
ICON_INK = "#4b5563"
#: Ink colour of the toolbar icons per theme (enabled state), chosen for contrast with the theme.
ICON_COLORS: dict[str, str] = {"light": "#4b5563", "dark": "#c9d1d9"}
#: Colours for pyqtgraph plots per theme (a style sheet cannot reach inside a plot):
#: ``pg.PlotWidget(background=c["background"])``, axis pens ``c["foreground"]``, etc.
PLOT_COLORS: dict[str, dict[str, str]] = {
    "light": {"background": "#ffffff", "foreground": "#3b4450", "grid": "#e3e7ed",
              "accent": "#1f8a52", "cursor": "#d97706", "muted": "#8d97a6"},
    "dark": {"background": "#0e1116", "foreground": "#c5ccd6", "grid": "#262c36",
             "accent": "#3fbf7f", "cursor": "#f0b429", "muted": "#6b7585"},
}

_URL_RE = re.compile(r"\{\{resources\}\}/([A-Za-z0-9_./-]+)")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_extracted = contextlib.ExitStack()  # keeps files extracted from a zip import alive until exit
atexit.register(_extracted.close)


def _traversable(name: str):
    """The resource ``name`` as an importlib Traversable; EmbryoError when it does not exist."""
    if not _NAME_RE.match(name) or ".." in name.split("/"):
        raise EmbryoError(f"invalid resource name {name!r}", RESOURCE_PACKAGE)
    node = importlib.resources.files(RESOURCE_PACKAGE)
    for part in name.split("/"):
        node = node.joinpath(part)
    if not node.is_file():
        raise EmbryoError(f"resource {name!r} is missing from the installed package", RESOURCE_PACKAGE)
    return node


def resource_path(name: str) -> Path:
    """A real file-system path of resource ``name`` (e.g. ``"themes/dark.qss"``).

    For a normal (wheel/editable/bundled) install this is the installed file itself; when the
    package is imported from a zip the file is extracted once and kept until the process exits.
    """
    node = _traversable(name)
    if isinstance(node, Path):
        return node
    return Path(_extracted.enter_context(importlib.resources.as_file(node)))


@contextlib.contextmanager
def resource_file(name: str) -> Iterator[Path]:
    """Context manager form of :func:`resource_path` that cleans up any extracted copy on exit."""
    with importlib.resources.as_file(_traversable(name)) as path:
        yield Path(path)


def read_text(name: str, encoding: str = "utf-8") -> str:
    """Text content of resource ``name``."""
    return _traversable(name).read_text(encoding=encoding)


def read_bytes(name: str) -> bytes:
    """Binary content of resource ``name``."""
    return _traversable(name).read_bytes()


def icon_names() -> tuple[str, ...]:
    """Names (without ``.svg``) of the toolbar icons present in the installed package, sorted."""
    folder = importlib.resources.files(RESOURCE_PACKAGE).joinpath("icons")
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".svg")))


def _check_icon(name: str) -> None:
    if name not in icon_names():
        raise EmbryoError(f"unknown icon {name!r} (known: {', '.join(icon_names())})", RESOURCE_PACKAGE)


def icon_path(name: str) -> Path:
    """Path of toolbar icon ``name`` (one of :func:`icon_names`), drawn in :data:`ICON_INK`."""
    _check_icon(name)
    return resource_path(f"icons/{name}.svg")


def icon_svg(name: str, color: str | None = None, theme: str | None = None) -> str:
    """SVG text of toolbar icon ``name`` re-inked with ``color`` (or the ``theme``'s icon colour).

    The GUI renders it with ``QSvgRenderer(QByteArray(text.encode()))`` into a ``QIcon``.
    """
    _check_icon(name)
    if color is None:
        color = ICON_COLORS[_check_theme(theme)] if theme is not None else ICON_INK
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
        raise EmbryoError(f"icon colour must look like #rrggbb, got {color!r}", RESOURCE_PACKAGE)
    return read_text(f"icons/{name}.svg").replace(ICON_INK, color)


def app_icon_path(size: int | None = None) -> Path:
    """Application icon: the SVG when ``size`` is None, else the PNG of that pixel size."""
    if size is None:
        return resource_path("app/embryo-gui.svg")
    if size not in APP_ICON_SIZES:
        raise EmbryoError(f"no {size}px application icon (sizes: {APP_ICON_SIZES})", RESOURCE_PACKAGE)
    return resource_path(f"app/embryo-gui-{size}.png")


def _check_theme(theme: str) -> str:
    if theme not in THEMES:
        raise EmbryoError(f"unknown theme {theme!r} (choose one of {', '.join(THEMES)})", RESOURCE_PACKAGE)
    return theme


def stylesheet(theme: str) -> str:
    """Qt style sheet of ``theme`` ("light" or "dark").

    Each ``{{resources}}/<name>`` reference in the file becomes the absolute path of that installed
    resource, so ``url()`` images work from any install.
    """
    text = read_text(f"themes/{_check_theme(theme)}.qss")
    return _URL_RE.sub(lambda m: resource_path(m.group(1)).as_posix(), text)


def plot_colors(theme: str) -> dict[str, str]:
    """pyqtgraph colours of ``theme`` (a copy: background, foreground, grid, accent, cursor, muted)."""
    return dict(PLOT_COLORS[_check_theme(theme)])
