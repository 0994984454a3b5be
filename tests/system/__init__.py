"""Tests against the real gunicorn server (marker: system)."""
