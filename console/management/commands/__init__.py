"""`manage.py` commands: ensure_admin, runstack, sample_lag."""
