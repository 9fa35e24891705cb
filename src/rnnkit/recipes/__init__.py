"""Built-in TOML recipes (``rnnkit recipes`` lists them)."""
