"""Token-endpoint grant types, one module each (RFC 6749 §4.1.3 authorization_code, §6 refresh_token)."""
