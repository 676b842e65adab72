"""Screens and modal dialogs of the labelling app."""
