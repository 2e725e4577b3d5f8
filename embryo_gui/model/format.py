"""Constants of the versioned HDF5 layouts (see docs/FORMAT.md)."""

FORMAT_NAME = "embryo-gui-project"
FORMAT_VERSION = 1
FRAMES_FORMAT_NAME = "embryo-gui-frames"
FRAMES_FORMAT_VERSION = 1
EXPORT_FORMAT_NAME = "embryo-gui-dataset"
EXPORT_FORMAT_VERSION = 1
