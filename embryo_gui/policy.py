"""Policy constants and flag kinds: their one home.

The model, the detectors, auto-clean, export, the trainer and the GUI import these; nobody spells
a list of kinds out again.  Bottom layer: imports nothing from embryo_gui.  Detector *tuning*
(thresholds of one detector) lives with that detector's settings, not here.
"""

from __future__ import annotations

#: Every flag kind, in bit order (bit i of the per-frame ``uint16`` is ``FLAG_KINDS[i]``) and in the
#: GUI's display order.  Appending is safe; reordering needs the project file's ``kinds`` attribute
#: (files are remapped on read).
FLAG_KINDS: tuple[str, ...] = (
    "black",          # black or dead frame (pixels)
    "red_artifact",   # red band / line / blotch (pixels)
    "outlier",        # differs from its neighbours (pixels)
    "cliff",          # inside a detected annotation cliff
    "lossy",          # high loss in the CNN trainer
    "excluded",       # left out of the cleaned dataset
    "edited",         # current annotation differs from the original
    "repaired",       # value filled in by interpolation / monotone refit
    "spike",          # annotation differs from its neighbours' for 1-2 frames (isolated mislabel)
    "out_of_order",   # frame out of time order (a poster frame: resembles a distant frame, not its neighbours)
)
#: Kinds the corrupt-frame detector sets (from pixels).
CORRUPT_KINDS: tuple[str, ...] = ("black", "red_artifact", "outlier", "out_of_order")
#: Corrupt kinds whose frames are lost whatever is done (no usable pixels): they count towards an
#: embryo's lost fraction even when not excluded.  Outliers are only lost once excluded.  An
#: out-of-order frame's label belongs to another time: lost too.
LOST_KINDS: tuple[str, ...] = ("black", "red_artifact", "out_of_order")
#: Kinds that ask for a look (``excluded``, ``edited`` and ``repaired`` record what was done about them).
PROBLEM_KINDS: tuple[str, ...] = CORRUPT_KINDS + ("cliff", "lossy", "spike")
#: Kinds that record what was done about a problem: a problem flag on such a frame is handled.
HANDLED_KINDS: tuple[str, ...] = ("excluded", "repaired")
#: Kinds whose frames the trainer leaves out (besides unannotated frames).
TRAIN_LEFT_OUT_KINDS: tuple[str, ...] = ("excluded",) + CORRUPT_KINDS + ("cliff",)
#: Kinds an export reports separately among the excluded frames it dropped.
EXPORT_REPORTED_KINDS: tuple[str, ...] = CORRUPT_KINDS + ("cliff", "lossy")
#: Kinds whose frames an export leaves out even when not excluded, unless a person cleared them
#: (rejected the mark in the triage queue): the trainer's suspect labels.
EXPORT_DROPPED_UNLESS_CLEARED: tuple[str, ...] = ("lossy",)
#: Detector kinds whose frames an export keeps when nobody excluded, repaired or cleared them; it
#: counts them as "not reviewed" in its report.
EXPORT_UNREVIEWED_KINDS: tuple[str, ...] = CORRUPT_KINDS + ("cliff", "spike")

#: An embryo losing more than this share of its frames (excluded or :data:`LOST_KINDS`) is
#: unusable.  Auto-clean's default (``AutocleanPolicy.unusable_fraction``) and ``Embryo.state()``
#: use this value; after an auto-clean, ``state()`` uses the fraction that auto-clean ran with.
UNUSABLE_FRACTION: float = 0.40

#: Cliff detection statuses (``model.detections.CliffDetection.status``).
CLIFF_STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected")
#: How an accepted cliff was repaired.
CLIFF_REPAIRS: tuple[str, ...] = ("interpolated", "excluded")
#: How auto-clean (and AcceptDetection) repair a dip bounded on both sides.
DIP_REPAIRS: tuple[str, ...] = ("interpolate", "exclude")

# --- reliability (issue 12) ---------------------------------------------------------------------
#: An embryo has at most a few thousand cells (C. elegans hatches with 558; EPIC movies stop at ~350).
#: A count above this is refused at import as implausible (a typo, ``1e300``, a column mix-up).
MAX_CELLS = 5000
#: Largest frame index / frame offset accepted from a file or an option (a video of a million frames
#: is ~40 hours at 7 fps); anything larger is an error, never an integer overflow.
MAX_FRAMES = 1_000_000
#: Largest field of a CSV / EPIC file, in characters (Python's csv default, stated here); a longer
#: field is refused with one line.
MAX_CSV_FIELD = 131_072
#: How long a second writer waits for a project's write lock before refusing (seconds); the
#: environment variable ``EMBRYO_GUI_LOCK_WAIT`` overrides it.
LOCK_WAIT_SECONDS = 5.0
#: How long the window waits for that lock when it opens a project (on the GUI thread: long enough
#: for another process's save, short enough not to freeze the window; then it refuses, naming the holder).
GUI_LOCK_WAIT_SECONDS = 0.5
#: How often a window showing a project read-only looks whether its holder saved it (then it
#: reloads) or let it go (then it offers to reopen it for editing), in seconds.
READ_ONLY_POLL_SECONDS = 2.0
#: How an import may store the decoded frames (``import --frame-codec``, the import dialog's
#: "Frame storage"; the Blosc settings of each are ``model.framestore.FRAME_CODECS``): compressed
#: with LZ4, the default, or uncompressed (~2.2x the disk, reads 3-5x faster).
FRAME_CODEC_NAMES: tuple[str, ...] = ("lz4", "none")
DEFAULT_FRAME_CODEC = "lz4"
#: Jobs (``Job.name``) that let edits, undo, redo and save go on while they run: each works on the
#: state it was started on and applies its result to the state it finds (docs/GUI.md).  Any other
#: job (auto-clean, import, an auto-clean draft) holds editing until it ends; ``Session.push`` /
#: ``undo`` / ``redo`` / ``save`` refuse meanwhile.
JOBS_ALLOWING_EDITS: tuple[str, ...] = ("train", "detect", "export")
#: Jobs a read-only session (``Session.open(path, read_only=True)``) may run: they write nothing into
#: the project (an export writes another file only).
READ_ONLY_JOBS: tuple[str, ...] = ("export",)
#: Applied edits kept in full per embryo when a project is saved; older ones are squashed into one
#: undo step (docs/FORMAT.md, "History compaction").
HISTORY_KEEP_STEPS = 100

# --- frame store (issue 14) ----------------------------------------------------------------------
#: Method version of the per-frame detector features stored at import (``/features`` attribute
#: ``version``): 3 = the outlier thumbnail from the maps cropped to a multiple of its pooling; 2 =
#: frames cropped to a multiple of the pool before pooling (unversioned: the uncropped frame).  Detection reuses stored features of this version only (else it reads the frames).
DETECTOR_FEATURES_VERSION = 3
