"""Alembic environment: runs on the connection civid hands over (or a URL from the alembic config)."""

from alembic import context
from sqlalchemy import Connection, create_engine

from models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        # models.db.upgrade hands over a connection; run any other way, alembic must be given the URL.
        assert url is not None, "no connection handed over and no sqlalchemy.url configured"
        engine = create_engine(url)
        with engine.begin() as connection:
            _migrate(connection)
    else:
        _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
