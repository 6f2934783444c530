"""Adapters for host frameworks, each an optional extra.

- `casework_flow.contrib.sqlalchemy` (``casework-flow[sqlalchemy]``): a store joining a
  SQLAlchemy 2 `Session` or `Connection`, and the tables on a `MetaData` for Alembic.
- `casework_flow.contrib.django` (``casework-flow[django]``): a Django app with
  migrations for the tables and a store on Django's connection, notifying through
  `transaction.on_commit`.
"""
