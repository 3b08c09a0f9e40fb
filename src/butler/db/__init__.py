"""Database access: the embedded or external PostgreSQL, the pool, migrations."""
