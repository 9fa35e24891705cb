"""rnnkit.nn — see DESIGN.md."""
