"""embryo-gui: repair the annotations of C. elegans embryo time-lapse videos.

The package core (everything outside ``embryo_gui.gui``) never imports Qt.
"""

__version__ = "0.1.0"
