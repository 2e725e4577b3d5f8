"""PyInstaller runtime hook: the bundle ships only hdf5plugin's Blosc filter (see embryo-gui.spec).

``import hdf5plugin`` tries to register every filter it knows and logs an error for each library
file it cannot find; in the bundle those are the filters trimmed on purpose, so drop exactly those
messages (any other hdf5plugin error, e.g. about Blosc itself, still shows).
"""

import logging


class _TrimmedFilters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        missing = msg.startswith("Cannot initialize filter ") and msg.endswith(": File not found")
        return not missing or msg.startswith("Cannot initialize filter blosc:")


logging.getLogger("hdf5plugin._utils").addFilter(_TrimmedFilters())
