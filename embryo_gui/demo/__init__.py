"""Synthetic EPIC-like embryos with ground truth (see docs/DEMO.md)."""

from .embryo import TRUTH_KEYS, DemoEmbryo, is_clean_index, make_demo_embryo
from .project import write_demo_project

__all__ = ["DemoEmbryo", "TRUTH_KEYS", "is_clean_index", "make_demo_embryo", "write_demo_project"]
