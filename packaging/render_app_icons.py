"""Render the application icon SVG to the PNG sizes (and the Windows/macOS icon files).

Run after editing ``resources/app/embryo-gui.svg``::

    QT_QPA_PLATFORM=offscreen python packaging/render_app_icons.py

Writes ``resources/app/embryo-gui-<size>.png`` for every size in
``embryo_gui.resources.APP_ICON_SIZES``, ``embryo-gui.ico`` (16..256) and ``embryo-gui.icns``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "resources" / "app"
SIZES = (16, 32, 48, 64, 128, 256, 512)  # keep equal to embryo_gui.resources.APP_ICON_SIZES


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(APP_DIR / "embryo-gui.svg"))
    if not renderer.isValid():
        print(f"render_app_icons: error: {APP_DIR / 'embryo-gui.svg'}: not a valid SVG", file=sys.stderr)
        return 2
    images = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        out = APP_DIR / f"embryo-gui-{size}.png"
        if not image.save(str(out), "PNG"):
            print(f"render_app_icons: error: {out}: could not write", file=sys.stderr)
            return 2
        images[size] = image
        print(f"wrote {out.relative_to(ROOT)}")
    # Qt's ico/icns writers store the one image they are given; 256 is the largest .ico entry.
    for name, fmt, size in (("embryo-gui.ico", "ICO", 256), ("embryo-gui.icns", "ICNS", 512)):
        out = APP_DIR / name
        if images[size].save(str(out), fmt):
            print(f"wrote {out.relative_to(ROOT)}")
        else:
            print(f"render_app_icons: warning: Qt has no {fmt} writer here; {name} not written", file=sys.stderr)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
