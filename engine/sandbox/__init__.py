"""Model code, run restricted: Python scripts and conditions, JUEL and ISO translations, FEEL."""
