"""The start pages: the public front page and the console's own home."""
