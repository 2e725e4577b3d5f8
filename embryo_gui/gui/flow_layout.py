"""A layout that wraps its widgets onto more lines when it gets narrow (Qt's flow-layout
example): legends and tool rows stay whole in a narrow window instead of widening it."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class FlowLayout(QtWidgets.QLayout):
    def __init__(self, parent: QtWidgets.QWidget | None = None, spacing: int = 6, margins=(4, 0, 4, 0)) -> None:
        super().__init__(parent)
        self._items: list[QtWidgets.QLayoutItem] = []
        self._spacing = int(spacing)
        self.setContentsMargins(*margins)

    # QLayout interface
    def addItem(self, item: QtWidgets.QLayoutItem) -> None:  # noqa: N802
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, i: int):  # noqa: N802
        return self._items[i] if 0 <= i < len(self._items) else None

    def takeAt(self, i: int):  # noqa: N802
        return self._items.pop(i) if 0 <= i < len(self._items) else None

    def setSpacing(self, s: int) -> None:  # noqa: N802
        self._spacing = int(s)
        self.invalidate()

    def spacing(self) -> int:
        return self._spacing

    def addSpacing(self, w: int) -> None:  # noqa: N802 - like QBoxLayout's
        self.addItem(QtWidgets.QSpacerItem(int(w), 0))

    def addStretch(self, _stretch: int = 0) -> None:  # noqa: N802 - a flow has no stretch
        pass

    def expandingDirections(self):  # noqa: N802
        return QtCore.Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._do_layout(QtCore.QRect(0, 0, width, 0), test=True)

    def setGeometry(self, rect: QtCore.QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._do_layout(rect, test=False)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        m = self.contentsMargins()
        w = sum(it.sizeHint().width() for it in self._items) + self._spacing * max(len(self._items) - 1, 0)
        h = max((it.sizeHint().height() for it in self._items), default=0)
        return QtCore.QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    def minimumSize(self) -> QtCore.QSize:  # noqa: N802
        size = QtCore.QSize()
        for it in self._items:
            size = size.expandedTo(it.minimumSize())
        m = self.contentsMargins()
        return size + QtCore.QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QtCore.QRect, test: bool) -> int:
        m = self.contentsMargins()
        r = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_h = r.x(), r.y(), 0
        for it in self._items:
            hint = it.sizeHint()
            w = it.widget()
            if w is not None and w.parentWidget() is not None and not w.isVisibleTo(w.parentWidget()):
                continue
            nx = x + hint.width()
            if nx > r.right() + 1 and line_h > 0:
                x, y = r.x(), y + line_h + 2
                nx = x + hint.width()
                line_h = 0
            if not test:
                it.setGeometry(QtCore.QRect(QtCore.QPoint(x, y), hint))
            x = nx + self._spacing
            line_h = max(line_h, hint.height())
        return y + line_h - rect.y() + m.bottom()
