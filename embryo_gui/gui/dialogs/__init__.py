"""Dialogs of the main window (one per module)."""
