"""Template tags and filters of the console (humanised numbers and times)."""
