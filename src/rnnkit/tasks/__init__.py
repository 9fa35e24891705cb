"""rnnkit.tasks — see DESIGN.md."""
