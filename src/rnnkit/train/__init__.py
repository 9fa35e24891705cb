"""rnnkit.train — see DESIGN.md."""
