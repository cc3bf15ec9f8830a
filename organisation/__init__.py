"""The bureau's organisation: the demo organisation (and importing a real one)."""
