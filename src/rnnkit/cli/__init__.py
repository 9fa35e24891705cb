"""Command-line surface: ``rnnkit train|resume|evaluate|predict|generate|recipes|main``."""
