"""The audit trail pages: search, integrity check, export."""
