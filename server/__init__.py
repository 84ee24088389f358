"""The top of civid: app assembly, the process's services, the CLI and the admin API.

The only package that knows every other.
"""
