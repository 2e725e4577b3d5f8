"""Policy constants: the one home of limits and kinds that are policy, not detector tuning."""

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
#: Applied edits kept in full per embryo when a project is saved; older ones are squashed into one
#: undo step (docs/FORMAT.md, "History compaction").
HISTORY_KEEP_STEPS = 100
