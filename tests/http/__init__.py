"""Tests of the JSON API and HTTP plumbing: answers, problems, auth, batch, config, logs."""
