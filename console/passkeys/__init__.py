"""Passkey binding codes issued at the desk."""
