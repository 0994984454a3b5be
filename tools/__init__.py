"""Developer tools used by bench/, scripts/, make docs and the tests: not part of the service."""
