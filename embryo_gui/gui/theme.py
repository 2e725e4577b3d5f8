"""Light / dark theme: the Qt style sheet and pyqtgraph's colours (from embryo_gui.resources)."""

from __future__ import annotations

import pyqtgraph as pg

from .view_model import FLAG_COLOURS

FALLBACK = {"light": {"background": "#ffffff", "foreground": "#3b4450"},
            "dark": {"background": "#0e1116", "foreground": "#c5ccd6"}}


_current = {"name": "light", "background": FALLBACK["light"]["background"]}


def current_theme() -> str:
    return _current["name"]


def _rgb(colour) -> tuple[int, int, int]:
    c = pg.mkColor(colour)
    return c.red(), c.green(), c.blue()


def _luminance(rgb) -> float:
    def ch(v: float) -> float:
        v = v / 255.0
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def contrast(a, b) -> float:
    """WCAG contrast ratio of two RGB colours (1 .. 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on_background(rgb, background=None, minimum: float = 3.0) -> tuple[int, int, int]:
    """``rgb`` mixed towards white (on a dark background) or black (on a light one) until its
    contrast with the background reaches ``minimum`` (3:1, WCAG's figure for graphics)."""
    bg = _rgb(background if background is not None else _current["background"])
    rgb = tuple(int(v) for v in rgb[:3])
    target = (255, 255, 255) if _luminance(bg) < 0.2 else (0, 0, 0)
    out = rgb
    for k in range(11):
        t = k / 10.0
        out = tuple(int(round(a + (b - a) * t)) for a, b in zip(rgb, target))
        if contrast(out, bg) >= minimum:
            break
    return out  # type: ignore[return-value]


#: flag colours replaced on a theme (a "black frame" mark drawn near-black is invisible on dark)
THEME_FLAG_COLOURS = {"dark": {"black": (215, 215, 230), "excluded": (120, 120, 132)}}


def flag_colour(kind: str) -> tuple[int, int, int]:
    """The colour of a flag kind on the current theme, readable against its background."""
    base = THEME_FLAG_COLOURS.get(_current["name"], {}).get(kind, FLAG_COLOURS.get(kind, (128, 128, 128)))
    return readable_on_background(base)


def apply_theme(app, theme: str = "light") -> None:
    """Style ``app`` and set pyqtgraph's default colours; call before creating plots."""
    try:
        from ..resources import plot_colors, stylesheet
        app.setStyleSheet(stylesheet(theme))
        colours = plot_colors(theme)
    except Exception:  # noqa: BLE001 - the app works unstyled
        colours = FALLBACK.get(theme, FALLBACK["light"])
    pg.setConfigOptions(background=colours["background"], foreground=colours["foreground"], antialias=False)
    _current.update(name=theme, background=colours["background"])
