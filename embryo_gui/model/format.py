"""Constants of the versioned HDF5 layouts (see docs/FORMAT.md)."""

FORMAT_NAME = "embryo-gui-project"
FORMAT_VERSION = 1
FRAMES_FORMAT_NAME = "embryo-gui-frames"
FRAMES_FORMAT_VERSION = 2  # 2: + /small (1/4-size copy), /features, Blosc LZ4 level 1 no shuffle (1: /frames only)
EXPORT_FORMAT_NAME = "embryo-gui-dataset"
EXPORT_FORMAT_VERSION = 1
