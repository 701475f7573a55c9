"""The PostgreSQL backend: psycopg 3 pools, COPY-based batched ingest.

Plain PostgreSQL for now; TimescaleDB hypertables come later (see
storage/migrations/postgres/0001_initial.sql for what the schema keeps ready).
"""

from .connection import PostgresUnavailable
from .ingest import PostgresIngestStore
from .sync_store import PostgresSyncStore

__all__ = ["PostgresIngestStore", "PostgresSyncStore", "PostgresUnavailable"]
