"""Alembic migrations of the store; run them with :func:`core.store.migrate.upgrade`."""
