"""Small apps the multi-process tests serve under gunicorn."""
