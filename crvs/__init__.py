"""The civil registry's partner API: births and deaths from Vital Statistics (OpenCRVS FHIR bundles or plain
JSON), applied to civid's identities (docs/civil-registry.md)."""
