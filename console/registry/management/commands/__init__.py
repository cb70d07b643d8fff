"""The registry's `manage.py` commands, one module each."""
