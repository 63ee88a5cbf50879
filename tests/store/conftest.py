"""The store tests use the shared ``database`` and ``store`` fixtures of tests/conftest.py."""
