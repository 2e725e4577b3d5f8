"""``embryo-repair``: the headless command line over the same core as the GUI.

Modules that are slow to import (torch, Qt) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..policy import FRAME_CODEC_NAMES


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
        if w <= 0 or h <= 0:
            raise ValueError
        return w, h
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH with positive integers, e.g. 128x96, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return v


def _frame_offset(text: str) -> int:
    """A whole number of frames within the plausible range (1e20 or 'abc' is a one-line error)."""
    from ..policy import MAX_FRAMES
    v = None
    try:
        v = int(text)
    except ValueError:
        try:
            f = float(text)
            if f == f and abs(f) != float("inf") and f == int(f):
                v = int(f)
        except (ValueError, OverflowError):
            pass
    if v is None or abs(v) > MAX_FRAMES:
        raise argparse.ArgumentTypeError(f"expected a whole number of frames between -{MAX_FRAMES} and {MAX_FRAMES}, "
                                         f"got {text[:40]!r}")
    return v


def _frames_per_timepoint(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not 0 < v <= 1000:  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected a number of frames per timepoint above 0 and at most 1000, "
                                         f"got {text[:40]!r}")
    return v


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (``embryo-repair import: error: ... (see --help)``), exit status 2."""

    def error(self, message):  # noqa: D401
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="embryo-repair",
        description="Repair the annotations of C. elegans embryo videos and export a clean dataset (headless).")
    p.add_argument("--version", action="version", version=f"embryo-repair {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("demo", help="write a project of synthetic EPIC-like embryos with ground truth")
    s.add_argument("out", metavar="OUT.h5")
    s.add_argument("--embryos", type=_positive_int, default=4)
    s.add_argument("--frames", type=_positive_int, default=300)
    s.add_argument("--size", type=_size, default=None, metavar="WxH", help="frame size (default 752x512)")
    s.add_argument("--seed", type=int, default=0)

    s = sub.add_parser("import", help="create a project or add an embryo (video, TIFF stack or image folder)")
    s.add_argument("project", metavar="PROJECT.h5")
    s.add_argument("source", metavar="VIDEO_OR_STACK")
    s.add_argument("--annotations", metavar="CSV", help="per-frame CSV or EPIC lineage file")
    s.add_argument("--name", help="embryo name (default: the file name)")
    s.add_argument("--time-offset", type=_frame_offset, default=0, metavar="K",
                   help="frame of the first annotation timepoint (default 0)")
    s.add_argument("--frames-per-timepoint", type=_frames_per_timepoint, default=1.0, metavar="R")
    s.add_argument("--json", action="store_true",
                   help="print the import report (alignment and its check against the pixels) as JSON")
    s.add_argument("--frame-base", type=int, choices=(0, 1), default=None,
                   help="what a per-frame CSV calls the first video frame (0 or 1; default: detect "
                        "from the file when unambiguous, else refuse and ask)")
    s.add_argument("--frame-codec", choices=FRAME_CODEC_NAMES, default=None,
                   help="how the decoded frames are stored: lz4 (compressed) or none (uncompressed: ~2.2x the "
                        "disk, for 3-5x faster frame reads); default: as the project's last embryo, else lz4")

    s = sub.add_parser("info", help="embryos, frame counts, annotation coverage, flags")
    s.add_argument("project", metavar="PROJECT.h5")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("detect", help="run the corrupt-frame and cliff detectors and store their flags")
    s.add_argument("project", metavar="PROJECT.h5")
    s.add_argument("--json", action="store_true")
    s.add_argument("--no-save", action="store_true",
                   help="only report; leave the project as it is (a reader: takes no lock, never waits)")

    s = sub.add_parser("autoclean", help="detect and apply the default repair policy (one undo step per embryo)")
    s.add_argument("project", metavar="PROJECT.h5")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("export", help="write the kept frames and cleaned counts as one HDF5 dataset")
    s.add_argument("project", metavar="PROJECT.h5")
    s.add_argument("out", metavar="OUT.h5")
    s.add_argument("--size", type=_size, default=None, metavar="WxH")
    s.add_argument("--gray", action="store_true", help="one grayscale channel instead of RGB")
    s.add_argument("--csv", metavar="OUT.csv", help="also write the labels as CSV")
    s.add_argument("--include-unusable", action="store_true", help="keep frames of embryos auto-clean called unusable")
    s.add_argument("--compression", choices=("blosc", "lzf", "none"), default="blosc",
                   help="frame compression: blosc (default; fastest, readers need `import hdf5plugin`), "
                        "lzf or none (readable by any h5py)")
    s.add_argument("--portable", dest="compression", action="store_const", const="lzf",
                   help="same as --compression lzf")
    s.add_argument("--force", action="store_true", help="replace OUT.h5 / OUT.csv if they exist")
    s.add_argument("--json", action="store_true", help="the report (kept, dropped per reason) as JSON")

    s = sub.add_parser("train", help="rank frames by CNN loss and flag the lossy ones")
    s.add_argument("project", metavar="PROJECT.h5")
    s.add_argument("--epochs", type=_positive_int, default=None)
    s.add_argument("--drop", type=_fraction, default=None, help="fraction flagged lossy per round (default 0.1)")
    s.add_argument("--rounds", type=_positive_int, default=None)
    s.add_argument("--folds", type=int, default=None, help="out-of-fold scoring folds (default 3)")
    s.add_argument("--method", choices=("oof", "train"), default=None,
                   help="rank by out-of-fold loss (default) or by plain training loss (the 2020 way)")
    s.add_argument("--cut", choices=("top", "zscore"), default=None,
                   help="flag the top --drop share (default) or frames above a robust z-score")
    s.add_argument("--size", type=_positive_int, default=None, metavar="PX")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--save-model", metavar="FILE.pt")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("showcase", help="the whole job on demo data: demo -> auto-clean -> export")
    s.add_argument("out_dir", metavar="OUT_DIR")
    s.add_argument("--embryos", type=_positive_int, default=4)
    s.add_argument("--frames", type=_positive_int, default=200)
    s.add_argument("--seed", type=int, default=0)

    from .batch_commands import add_parsers as add_batch_parsers
    add_batch_parsers(sub, _size, _positive_int)
    return p


def _exit_now(code: int) -> None:
    """Exit without HDF5's exit handlers: after a write HDF5 itself saw fail on a full disk it may
    hold a file it cannot close, and flushing it at exit can crash the process (every file of ours
    is already either complete or removed)."""
    import os
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ..errors import CancelledError, EmbryoError
    from ..model.atomic import disk_problem
    from ..model.lock import set_default_holder
    from . import commands

    set_default_holder(f"embryo-repair {args.command}")
    try:
        func = getattr(args, "func", None) or getattr(commands, "cmd_" + args.command)
        return int(func(args) or 0)
    except EmbryoError as exc:
        print(f"embryo-repair: error: {exc}", file=sys.stderr)
        if "no space left" in str(exc) and argv is None:  # a real command line, not a test calling main()
            _exit_now(2)
        return 2
    except BrokenPipeError:  # e.g. `embryo-repair info --json | head`: the reader left, not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a disk condition no layer below named (full, read-only): still one line
        why = disk_problem(exc)
        if why is None:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"embryo-repair: error: {where}{why}", file=sys.stderr)
        if argv is None:
            _exit_now(2)
        return 2
    except CancelledError:
        print("embryo-repair: cancelled; nothing was changed", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("embryo-repair: interrupted; nothing was changed", file=sys.stderr)
        return 130
    except MemoryError:
        print("embryo-repair: error: out of memory", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
