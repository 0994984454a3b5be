"""Tests of the domain: conditions, ruleset loader, engine adapter, decision, properties."""
