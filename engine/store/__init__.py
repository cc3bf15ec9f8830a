"""Persistence of the engine: database connection, tables, settings, the content-addressed file store."""
