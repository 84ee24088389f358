"""Signing in to the console through civid's own OpenID provider, and the console session."""
