"""Share groups (KIP-932): queue-style consumption over the ordinary partition logs."""
