"""Clinical review tooling, framework-free: case files, replay, safety report, catalogue, CLI."""
