"""`drivestats export iceberg`: the store as an Apache Iceberg table."""

from __future__ import annotations

import click

from drivestats.cli.common import console, pass_workspace, print_rows
from drivestats.workspace import Workspace


@click.command("export")
@click.argument("target", type=click.Choice(["iceberg"]))
@click.option(
    "--catalog",
    "catalog_uri",
    metavar="URI",
    help="A PyIceberg catalog URI (sqlite:///..., http://rest:8181, ...) or catalog:NAME of "
    "PyIceberg's configuration. Default: a SQLite catalog in the workspace, "
    "iceberg/catalog.db. Credentials come from PyIceberg's configuration, never stored.",
)
@click.option(
    "--table",
    "identifier",
    metavar="NAMESPACE.NAME",
    help="The table's identifier. Default: drivestats.drive_days.",
)
@pass_workspace
def export_command(
    workspace: Workspace, target: str, catalog_uri: str | None, identifier: str | None
) -> None:
    """Publish the store as an Iceberg table: its month files registered, never copied.

    Partitioned by month of date, one snapshot per import (its summary names the import
    and drivestats.until, the last day then held), so an engine's time travel to a
    snapshot gives what --until that day gives. The first run replays the imports held;
    after it, run it again after imports to add their snapshots. Trino, Spark, DuckDB
    and PyIceberg read the table (README).
    """
    from drivestats.iceberg.export import export_iceberg

    report = export_iceberg(workspace, catalog_uri, identifier)
    out = console()
    if report.snapshots:
        print_rows(report.snapshots, "table", title=f"snapshots added to {report.table}")
    else:
        out.print(f"{report.table} is up to date with the store: no snapshot added")
    out.print(f"table {report.table} in {report.catalog}", soft_wrap=True)
    out.print(f"metadata {report.metadata}", soft_wrap=True)
    out.print(f"{report.files} data files, {report.rows:,} rows")
