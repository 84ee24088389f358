"""Administration pages: staff accounts and roles, portals and banks, signing keys."""
