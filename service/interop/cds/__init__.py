"""CDS Hooks 2.0: discovery, the service (prefetch to card) and feedback."""
