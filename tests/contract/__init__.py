"""The contract: openapi.yaml against the answers, its lint and drift, the README (contract)."""
