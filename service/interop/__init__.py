"""Adapters to healthcare interoperability standards: FHIR R4 and CDS Hooks 2.0."""
