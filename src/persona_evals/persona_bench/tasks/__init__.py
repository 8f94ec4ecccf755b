"""The four PERSONA Bench tasks, one module each (``tasks/<name>.py`` in a checkout links here)."""
