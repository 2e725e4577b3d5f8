"""PyInstaller entry script of the one-folder bundle; it dispatches on the name it was started as.

    embryo-gui                 the executable   -> embryo_gui.gui.app:main   (desktop app)
    embryo-repair              symlink to it    -> embryo_gui.cli.main:main  (command line)

Both names are the ``[project.gui-scripts]`` / ``[project.scripts]`` entry points of pyproject.toml
(tests/test_packaging.py checks that the two lists agree).  One executable serves both, so the
command line costs no second copy of the Python archive (see docs/PACKAGING.md).

``embryo-gui --bundle-self-test train PROJECT.h5`` is packaging/check_build.sh's probe of the
frozen trainer: it trains a tiny model on PROJECT through the GUI's own code path (a spawned child
process of this same executable, :func:`embryo_gui.gui.train_process.train_in_subprocess`) and
prints what the child did.  Nothing else uses it.
"""

import multiprocessing
import os
import sys

CLI_NAMES = ("embryo-repair",)


def entry_name(argv0: str) -> str:
    """'cli' or 'gui' for the name the bundle was started as (a symlink keeps its own name)."""
    name = os.path.basename(argv0 or "").lower()
    if name.endswith(".exe"):
        name = name[:-4]
    return "cli" if name in CLI_NAMES else "gui"


def _self_test_train(project_path: str) -> int:
    """Train 1 epoch on PROJECT in the spawned child, print the child's pid/executable and result."""
    import time

    from embryo_gui.gui.train_process import train_in_subprocess
    from embryo_gui.train import TrainSettings

    seen: dict = {}

    def progress(info: dict) -> None:
        for child in multiprocessing.active_children():
            if child.pid and "pid" not in seen:
                seen["pid"] = child.pid
                try:
                    seen["exe"] = os.path.realpath(f"/proc/{child.pid}/exe")
                except OSError:
                    seen["exe"] = "?"
        seen["progress"] = seen.get("progress", 0) + 1

    settings = TrainSettings(epochs=1, folds=2, size=32, width=4, batch_size=16, threads=1,
                             device="cpu").to_dict()
    t0 = time.perf_counter()
    result = train_in_subprocess(project_path, settings, progress=progress)
    print(f"self-test train: parent pid {os.getpid()} ({os.path.realpath(sys.executable)}), "
          f"child pid {seen.get('pid')} ({seen.get('exe')}), {seen.get('progress', 0)} progress messages, "
          f"{result.n_lossy} lossy frames, population error {result.val_error_before:.2f} -> "
          f"{result.val_error_after:.2f}, {time.perf_counter() - t0:.1f} s, "
          f"torch imported in the parent: {'torch' in sys.modules}")
    return 0 if seen.get("pid") and seen["pid"] != os.getpid() else 1


def main() -> int:
    multiprocessing.freeze_support()  # the trainer's spawned child re-enters here and stops there
    if sys.argv[1:2] == ["--bundle-self-test"]:
        if sys.argv[2:3] == ["train"] and len(sys.argv) == 4:
            return _self_test_train(sys.argv[3])
        print("usage: embryo-gui --bundle-self-test train PROJECT.h5", file=sys.stderr)
        return 2
    if entry_name(sys.argv[0]) == "cli":
        from embryo_gui.cli.main import main as cli_main
        return cli_main()
    from embryo_gui.gui.app import main as gui_main
    return gui_main()


if __name__ == "__main__":
    sys.exit(main())
