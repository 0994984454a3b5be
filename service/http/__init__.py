"""HTTP plumbing and the JSON API: views, problems, body, logging, metrics, gunicorn hooks."""
