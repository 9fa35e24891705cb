"""rnnkit.export — see DESIGN.md."""
