"""Toolbar icons from the packaged SVGs (embryo_gui.resources); empty icons when unavailable."""

from __future__ import annotations

from functools import lru_cache

from PySide6 import QtCore, QtGui


@lru_cache(maxsize=None)
def icon(name: str, theme: str = "light") -> QtGui.QIcon:
    try:
        from PySide6 import QtSvg

        from .. import resources
        svg = resources.icon_svg(name, theme=theme)
        renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(svg.encode()))
        pm = QtGui.QPixmap(48, 48)
        pm.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(pm)
        renderer.render(p)
        p.end()
        return QtGui.QIcon(pm)
    except Exception:  # noqa: BLE001 - a missing icon must never stop the app
        return QtGui.QIcon()


def app_icon() -> QtGui.QIcon:
    try:
        from .. import resources
        return QtGui.QIcon(str(resources.app_icon_path()))
    except Exception:  # noqa: BLE001
        return QtGui.QIcon()
