"""Entry point of the desktop app: ``embryo-gui [PROJECT.h5] [--demo] [--quit-after S] [--version]``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .. import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="embryo-gui", description="Repair embryo annotations (desktop app).")
    p.add_argument("project", nargs="?", help="project file (.h5) to open, or a batch output folder "
                                              "(embryo-repair batch) to review its projects one after another")
    p.add_argument("--demo", action="store_true", help="open a freshly generated demo project in a temp folder")
    p.add_argument("--demo-frames", type=int, default=120, help="frames per demo embryo (default 120)")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help="quit after SECONDS (smoke tests)")
    p.add_argument("--version", action="store_true", help="print the version and the project format version")
    p.add_argument("--theme", choices=("light", "dark"), default=None, help="colour theme")
    p.add_argument("--settings", metavar="INI", help="read/write settings in this INI file (tests)")
    p.add_argument("--recovery-dir", metavar="DIR", help="folder of autosave recovery files")
    return p


def version_text() -> str:
    from ..model import FORMAT_VERSION
    return f"embryo-gui {__version__} (project format version {FORMAT_VERSION})"


def main(argv: list[str] | None = None) -> int:
    import multiprocessing
    multiprocessing.freeze_support()  # a frozen (PyInstaller) app: the trainer's spawned child starts here
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        print(version_text())
        return 0

    from PySide6 import QtCore, QtWidgets

    from ..errors import EmbryoError
    from ..model.lock import set_default_holder
    from .main_window import MainWindow

    set_default_holder("embryo-gui app")  # named in the one-line refusal another writer gets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["embryo-gui"])
    app.setApplicationName("embryo-gui")
    app.setOrganizationName("embryo-gui")
    app.setApplicationVersion(__version__)
    from ..about import APP_ID
    app.setDesktopFileName(APP_ID)  # the .desktop file's id: Wayland/X11 match window, launcher and icon
    settings = (QtCore.QSettings(args.settings, QtCore.QSettings.Format.IniFormat) if args.settings
                else QtCore.QSettings("embryo-gui", "embryo-gui"))
    theme = args.theme or str(settings.value("ui/theme", "light"))
    from .theme import apply_theme
    apply_theme(app, theme if theme in ("light", "dark") else "light")
    interactive = args.quit_after is None
    win = MainWindow(settings, Path(args.recovery_dir) if args.recovery_dir else None, ask=interactive)
    win.enable_review()  # detectors run on open; auto-clean shows a draft first
    win.show()

    opened = False
    if interactive:
        opened = offer_recovery(win)
    if not opened and args.demo:
        from ..demo import write_demo_project
        tmp = Path(tempfile.mkdtemp(prefix="embryo-gui-demo-"))
        _remove_at_exit(tmp)
        try:
            p = write_demo_project(tmp / "demo.h5", n_embryos=3, n_frames=args.demo_frames, seed=0)
            win.set_project(p)
            opened = True
        except EmbryoError as exc:
            print(f"embryo-gui: error: {exc}", file=sys.stderr)
    if not opened and args.project:
        from .batch_review import open_path
        open_path(win, args.project)  # a project file, or a batch's OUT_DIR (its projects one after another)

    if args.quit_after is not None:
        # a local event loop, not app.quit(): quitting the application leaves a shared
        # QApplication (tests) whose later event loops return at once
        loop = QtCore.QEventLoop()

        def quit_now() -> None:
            win.ask = False
            win.close()
            loop.quit()
        QtCore.QTimer.singleShot(int(args.quit_after * 1000), quit_now)
        return int(loop.exec())
    return int(app.exec())


def _remove_at_exit(folder: Path) -> None:
    """Remove the throw-away demo folder (~100 MB) when the process ends, normally or by SIGTERM."""
    import atexit
    import os
    import shutil
    import signal

    from PySide6 import QtCore

    atexit.register(shutil.rmtree, folder, True)

    def on_term(signum, _frame) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)  # then die of SIGTERM as usual

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: atexit only
        return
    # Python runs a signal handler only between bytecodes: let it in while Qt's event loop waits
    tick = QtCore.QTimer(QtCore.QCoreApplication.instance())
    tick.timeout.connect(lambda: None)
    tick.start(250)


def offer_recovery(win) -> bool:
    """After a crash: offer to restore the newest recovery file; True when one was opened."""
    from PySide6 import QtWidgets

    from ..errors import EmbryoError
    from . import recovery
    for entry in recovery.pending(win.recovery_dir):
        r = QtWidgets.QMessageBox.question(
            win, "Recover unsaved work?",
            f"embryo-gui did not close cleanly while {entry['project']} had unsaved changes.\n"
            "Restore the autosaved copy?",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No)
        if r == QtWidgets.QMessageBox.StandardButton.Yes:
            try:
                win.set_project(recovery.restore(entry), restored=True)
                return True
            except EmbryoError as exc:
                win.notifier.error(str(exc))
        else:
            recovery.discard(win.recovery_dir, Path(entry["project"]))
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
