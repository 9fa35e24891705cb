"""rnnkit.data — see DESIGN.md."""
