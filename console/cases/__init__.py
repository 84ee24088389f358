"""Possible-duplicate cases: the queue, the review page, decisions and their changes."""
