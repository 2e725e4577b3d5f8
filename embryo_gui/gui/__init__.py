"""PySide6 + pyqtgraph desktop app; the only package that imports Qt.

Widgets are thin: the state they share (the cursor, the selection, what is visible) lives in
:mod:`embryo_gui.gui.view_model`, which does not import Qt, and every change to a project goes
through the core (``embryo_gui.edits``) via :mod:`embryo_gui.gui.undo`.
"""
