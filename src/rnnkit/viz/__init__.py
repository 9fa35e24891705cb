"""rnnkit.viz — see DESIGN.md."""
