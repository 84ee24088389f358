"""Plain numeric limits shared by the HTTP edge (``civid.input_types``) and the CLI, which must not import
FastAPI or pydantic just to print its help (``tests/server/test_cli_startup.py``)."""

# Ten years (of 366 days): longer than any lead, lifetime or age a client can mean, and far inside timedelta's range.
MAX_DURATION_S = 10 * 366 * 86400
