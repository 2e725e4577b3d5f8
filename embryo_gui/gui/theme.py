"""Light / dark theme: the Qt style sheet and pyqtgraph's colours (from embryo_gui.resources)."""

from __future__ import annotations

import pyqtgraph as pg

FALLBACK = {"light": {"background": "#ffffff", "foreground": "#3b4450"},
            "dark": {"background": "#0e1116", "foreground": "#c5ccd6"}}


def apply_theme(app, theme: str = "light") -> None:
    """Style ``app`` and set pyqtgraph's default colours; call before creating plots."""
    try:
        from ..resources import plot_colors, stylesheet
        app.setStyleSheet(stylesheet(theme))
        colours = plot_colors(theme)
    except Exception:  # noqa: BLE001 - the app works unstyled
        colours = FALLBACK.get(theme, FALLBACK["light"])
    pg.setConfigOptions(background=colours["background"], foreground=colours["foreground"], antialias=False)
