"""PyInstaller entry script: starts the desktop app (embryo_gui.gui.app:main)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # torch/data-loader workers re-enter here in a frozen app
    from embryo_gui.gui.app import main

    sys.exit(main())
