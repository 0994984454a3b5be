"""Tests of the FHIR R4 and CDS Hooks adapters."""
