"""Staff accounts: who may use the console, with which roles."""
