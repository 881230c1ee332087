"""``drivestats export iceberg``: the store as an Iceberg table, one snapshot per import.

The table registers the store's month files where they lie (PyIceberg's
``parquet_file_to_data_file`` on each file, as ``add_files`` does: no row is copied),
partitioned by month of ``date`` (``date_month``), its schema the union of the month
files' columns by name. It never points at ``store/months``, whose files are replaced
under the same name: it points at the hard links of ``pins`` (``iceberg/data``), named by
their content, which no import changes or removes. So every snapshot keeps reading the
bytes it was made of, and time travel works however the store changes later.

One snapshot per import: on its first run the export replays the imports the store holds
(one snapshot each, in import order, when no import replaced another's days; else one
snapshot for all of them, said so in its summary) and turns the workspace into an
exported one, where every later publication is queued (``pins``); each run then commits
the queued imports, one snapshot each, replacing the files of the months an import
changed. A snapshot's summary names its import (``drivestats.source``, its sha256 or
table snapshot) and the last day the store held then (``drivestats.until``): time travel
to it gives the rows that ``--until`` that day gives.

The export keeps the store lock while it runs, so no import publishes meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivestats import catalog
from drivestats.errors import DrivestatsError
from drivestats.iceberg import pins
from drivestats.iceberg.refs import redacted
from drivestats.workspace import Workspace

DEFAULT_IDENTIFIER = "drivestats.drive_days"
NAME_MAPPING = "schema.name-mapping.default"


@dataclass
class ExportReport:
    catalog: str
    table: str
    metadata: str
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    rows: int = 0


def default_catalog(workspace: Workspace) -> str:
    return f"sqlite:///{pins.root(workspace) / 'catalog.db'}"


def open_catalog(workspace: Workspace, uri: str) -> Any:
    """The export's catalog: a PyIceberg catalog URI (a SQL catalog gets the workspace's
    warehouse folder unless configured), or ``catalog:NAME`` of PyIceberg's configuration."""
    from pyiceberg.catalog import load_catalog
    from pyiceberg.utils.config import Config

    from drivestats.iceberg.table_source import _SCHEMES

    if uri.startswith("catalog:"):
        return load_catalog(uri[len("catalog:") :])
    config = Config()
    configured = config.get_catalog_config(config.get_default_catalog_name()) or {}
    properties: dict[str, str] = {"uri": uri}
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in _SCHEMES:
        properties["type"] = _SCHEMES[scheme]
    if "warehouse" not in configured:
        warehouse = pins.root(workspace) / "warehouse"
        warehouse.mkdir(parents=True, exist_ok=True)
        properties["warehouse"] = warehouse.as_uri()
    return load_catalog(None, **properties)


def baseline_steps(workspace: Workspace) -> list[dict[str, Any]]:
    """The imports the store holds now, as steps of the table; their month files pinned."""
    sources = catalog.query(workspace, "select rowid as sequence, * from sources order by rowid")
    days = catalog.query(workspace, "select * from days order by day")
    files: dict[str, dict[str, Any]] = {}
    for day in days:
        entry = files.setdefault(
            day["file"], {"sha256": day["sha256"], "rows": 0, "sources": set()}
        )
        entry["rows"] += day["rows"]
        entry["sources"].add(day["source_sha256"])
    held = {s["sha256"]: sum(1 for d in days if d["source_sha256"] == s["sha256"]) for s in sources}
    replayable = all(held[s["sha256"]] == s["days"] for s in sources) and all(
        len(f["sources"]) == 1 for f in files.values()
    )
    if not replayable:
        last = pins.last_day(workspace)
        source = {
            "path": f"{len(sources)} imports, as one: some replaced days of others",
            "sha256": "",
            "first_day": days[0]["day"] if days else None,
            "last_day": last,
        }
        everything = {name: (f["sha256"], f["rows"]) for name, f in files.items()}
        return [
            {
                "id": "b0001",
                "source": source,
                "until": last,
                "months": pins.step_months(workspace, everything),
            }
        ]
    steps, seen = [], set()
    for number, source in enumerate(sources, start=1):
        seen.add(source["sha256"])
        mine = {
            name: (f["sha256"], f["rows"])
            for name, f in files.items()
            if f["sources"] == {source["sha256"]}
        }
        until = max(
            (d["day"] for d in days if d["source_sha256"] in seen and d["rows"]), default=None
        )
        steps.append(
            {
                "id": f"b{number:04d}",
                "source": pins.source_of(source),
                "until": until,
                "months": pins.step_months(workspace, mine),
            }
        )
    return steps


def _month_of_file(path: str) -> str:
    return Path(path).name[:7]  # pinned files are named YYYY-MM-<sha256>.parquet


def _create(handle: Any, identifier: str, schema: Any) -> Any:
    from pyiceberg.transforms import MonthTransform

    namespace = identifier.rsplit(".", 1)[0]
    handle.create_namespace_if_not_exists(namespace)
    table = handle.create_table(identifier, schema=schema)
    with table.update_spec() as spec:
        spec.add_field("date", MonthTransform(), "date_month")
    with table.transaction() as transaction:
        transaction.set_properties(**{NAME_MAPPING: table.schema().name_mapping.model_dump_json()})
    return table


def _schema_of(paths: list[Path]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa.unify_schemas([pq.read_schema(path).remove_metadata() for path in paths])


def _commit(table: Any, step: dict[str, Any], home: Path) -> dict[str, Any]:
    """One step as one snapshot: the months it changed, their old files out, new files in."""
    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    current: dict[str, list[Any]] = {}
    if table.current_snapshot() is not None:
        for task in table.scan().plan_files():
            current.setdefault(_month_of_file(task.file.file_path), []).append(task.file)
    adds: list[Path] = []
    removes = []
    for month, info in sorted(step["months"].items()):
        path = home / info["file"]
        there = current.get(month, [])
        if info["rows"] and path.as_uri() not in {f.file_path for f in there}:
            adds.append(path)
        removes += [f for f in there if f.file_path != path.as_uri()]
    source = step["source"]
    properties = {
        "drivestats.step": step["id"],
        "drivestats.source": source.get("path") or "",
        "drivestats.source-sha256": source.get("sha256") or "",
        "drivestats.until": step.get("until") or "",
        "drivestats.months": ",".join(sorted(step["months"])),
    }
    with table.transaction() as transaction:
        if adds:
            schema = _schema_of(adds)
            known = set(transaction.table_metadata.schema().column_names)
            if any(name not in known for name in schema.names):
                with transaction.update_schema() as update:
                    update.union_by_name(schema)
        snapshot = transaction.update_snapshot(snapshot_properties=properties)
        with snapshot.overwrite() if removes else snapshot.fast_append() as operation:
            for data_file in removes:
                operation.delete_data_file(data_file)
            for path in adds:
                operation.append_data_file(
                    parquet_file_to_data_file(table.io, transaction.table_metadata, path.as_uri())
                )
    made = table.current_snapshot()
    return {
        "step": step["id"],
        "snapshot": str(made.snapshot_id),
        "source": Path(source.get("path") or "").name,
        "until": step.get("until"),
        "added": len(adds),
        "removed": len(removes),
    }


def _done_steps(table: Any) -> set[str]:
    return {
        snapshot.summary["drivestats.step"]
        for snapshot in table.metadata.snapshots
        if snapshot.summary is not None
        and "drivestats.step" in snapshot.summary.additional_properties
    }


def export_iceberg(
    workspace: Workspace, catalog_uri: str | None = None, identifier: str | None = None
) -> ExportReport:
    """Bring the workspace's Iceberg table up to date with the store (see the module's doc)."""
    import logging

    from pyiceberg.exceptions import NoSuchTableError

    from drivestats.store import store_lock

    # The month files keep statistics for the columns a reader prunes on only; PyIceberg
    # warns once per other column, which says nothing a person can act on.
    logging.getLogger("pyiceberg.io.pyarrow").setLevel(logging.ERROR)

    with store_lock(workspace):
        if pins.exporting(workspace):
            config = pins.read_config(workspace)
            for given, key in (
                (catalog_uri and redacted(catalog_uri), "catalog"),
                (identifier, "table"),
            ):
                if given is not None and given != config[key]:
                    raise DrivestatsError(
                        f"{workspace.home} is exported to {config['table']} in {config['catalog']}; "
                        f"delete {pins.root(workspace)} to export it elsewhere"
                    )
        else:
            if not catalog.query(workspace, "select day from days where rows > 0 limit 1"):
                raise DrivestatsError(
                    f"the store in {workspace.home} holds no rows; run `drivestats import` first"
                )
            config = {
                "catalog": redacted(catalog_uri or default_catalog(workspace)),
                "table": identifier or DEFAULT_IDENTIFIER,
                "last_sequence": 0,
                "baseline": baseline_steps(workspace),
            }
            # From here on every publication pins its month files and queues its step.
            pins.write_json(pins.config_file(workspace), config)
        # A password in the URI given serves this run only; the workspace keeps none.
        handle = open_catalog(workspace, catalog_uri or config["catalog"])
        queued = [json.loads(p.read_text()) for p in sorted(pins.queue(workspace).glob("q*.json"))]
        steps = config["baseline"] + queued
        try:
            table = handle.load_table(config["table"])
        except NoSuchTableError:
            first = next((s for s in steps if any(m["rows"] for m in s["months"].values())), None)
            assert first is not None
            files = [workspace.home / m["file"] for m in first["months"].values() if m["rows"]]
            table = _create(handle, config["table"], _schema_of(files))
        done = _done_steps(table)
        report = ExportReport(config["catalog"], config["table"], table.metadata_location)
        for step in steps:
            if step["id"] not in done:
                report.snapshots.append(_commit(table, step, workspace.home))
        if queued:
            config["last_sequence"] = max(step["sequence"] for step in queued)
            pins.write_json(pins.config_file(workspace), config)
            for step in queued:
                (pins.queue(workspace) / f"{step['id']}.json").unlink(missing_ok=True)
        report.metadata = table.metadata_location
        snapshot = table.current_snapshot()
        if snapshot is not None and snapshot.summary is not None:
            extra = snapshot.summary.additional_properties
            report.files = int(extra.get("total-data-files", 0))
            report.rows = int(extra.get("total-records", 0))
    return report
