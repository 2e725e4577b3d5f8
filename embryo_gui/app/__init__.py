"""The Qt-free application layer: the workflows (import, detect, auto-clean, export, train) that the
GUI and the CLI both call.  See docs/ARCHITECTURE.md."""
