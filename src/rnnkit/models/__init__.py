"""rnnkit.models — see DESIGN.md."""
