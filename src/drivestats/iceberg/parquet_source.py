"""A plain Parquet file of Drive Stats rows as an import source, like a zip.

Backblaze's Parquet files hold the Iceberg table's rows in its schema (see ``mapping``);
a file may hold many days and months, in any order. The file is named by its sha256 as a
zip is, so importing it again is skipped, and it is imported whole or not at all. It is
read month by month: the row groups whose ``date`` statistics (or, without statistics,
whose dates) fall in a month are read in batches and written as that month's store file,
so memory stays that of a row group whatever the size of the file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from drivestats.errors import BadInputError
from drivestats.iceberg.mapping import Mapping
from drivestats.iceberg.monthly import write_month

if TYPE_CHECKING:
    from drivestats import jobs

BATCH_ROWS = 64 * 1024


def _month_text(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()[:7]
    return None


def _dates(parquet: pq.ParquetFile, group: int, mapping: Mapping) -> pa.Array:
    """The dates of one row group as stored dates (read alone: one column)."""
    array = parquet.read_row_group(group, columns=[mapping.date_column]).column(0).combine_chunks()
    converted = mapping._converted("date", mapping.date_column, array)
    if converted.null_count:
        raise BadInputError(mapping.label, f"column {mapping.date_column}: empty date in a row")
    return converted


def months_of_row_groups(parquet: pq.ParquetFile, mapping: Mapping) -> dict[str, list[int]]:
    """Month -> the row groups holding rows of that month, oldest month first."""
    names = parquet.schema_arrow.names
    position = names.index(mapping.date_column)
    is_date = pa.types.is_date(parquet.schema_arrow.field(position).type)
    leaf = parquet.schema.names.index(mapping.date_column) if is_date else -1
    found: dict[str, list[int]] = {}
    for group in range(parquet.metadata.num_row_groups):
        metadata = parquet.metadata.row_group(group)
        if metadata.num_rows == 0:
            continue
        statistics = metadata.column(leaf).statistics if leaf >= 0 else None
        first = last = None
        if statistics is not None and statistics.has_min_max:
            first, last = _month_text(statistics.min), _month_text(statistics.max)
        if first is not None and first == last:
            held = [first]
        else:
            dates = pc.unique(_dates(parquet, group, mapping)).to_pylist()
            held = sorted({day.isoformat()[:7] for day in dates})
        for month in held:
            found.setdefault(month, []).append(group)
    return dict(sorted(found.items()))


def _holding_values(
    parquet: pq.ParquetFile, groups: list[int], mapping: Mapping
) -> set[str] | None:
    """Stored names of the columns with a value in these row groups (None: cannot tell)."""
    leaves = {name: i for i, name in enumerate(parquet.schema.names)}
    holding: set[str] = set()
    for stored, given in mapping.sources.items():
        for source in given:
            if source not in leaves:
                return None  # a nested column: no per-column statistics to go by
            for group in groups:
                row_group = parquet.metadata.row_group(group)
                statistics = row_group.column(leaves[source]).statistics
                if statistics is None or not statistics.has_null_count:
                    return None
                if statistics.null_count < row_group.num_rows:
                    holding.add(stored)
                    break
    return holding


def build(context: jobs.JobContext, source: Path) -> None:
    """The import job of one Parquet file: a store month file per month it holds."""
    from drivestats import store
    from drivestats.provenance import parquet_provenance

    listener = context.progress or store.SilentListener()
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError) as error:
        raise BadInputError(str(source), f"not a readable Parquet file ({error})") from None
    mapping = Mapping(str(source), parquet.schema_arrow)
    by_month = months_of_row_groups(parquet, mapping)
    provenance = parquet_provenance(
        context.id,
        store.IMPORT.name,
        store.IMPORT.code_fingerprint()["sha256"],
        sources=dict(context.inputs),
    )
    (context.dir / "months").mkdir()
    sizes = [
        parquet.metadata.row_group(i).total_byte_size
        for i in range(parquet.metadata.num_row_groups)
    ]
    total = sum(sizes) or 1
    file_size = source.stat().st_size
    done = {"rows": 0, "bytes": 0}
    days: dict[str, dict[str, Any]] = {}
    serials: list[pa.Array] = []
    for month, groups in by_month.items():
        holding = _holding_values(parquet, groups, mapping)
        layout = {}
        first = dt.date.fromisoformat(f"{month}-01")
        for offset in range(31):
            day = first + dt.timedelta(days=offset)
            if day.isoformat()[:7] == month:
                layout[day.isoformat()] = mapping.columns_for(day.isoformat(), holding)

        def batches(groups: list[int] = groups, month: str = month):  # type: ignore[no-untyped-def]
            for group in groups:
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group]):
                    dates = mapping._converted(
                        "date", mapping.date_column, batch.column(mapping.date_column)
                    )
                    months_held = pc.strftime(dates, format="%Y-%m")
                    inside = pc.equal(months_held, month)
                    yield batch if pc.all(inside).as_py() else batch.filter(inside)
                done["bytes"] += sizes[group]
                listener.advanced(source, int(done["bytes"] / total * file_size), done["rows"])

        def counted(rows: int) -> None:
            done["rows"] += rows

        month_days, month_serials = write_month(
            context.dir / "months" / f"{month}.parquet",
            month,
            batches(),
            mapping,
            provenance,
            member=source.name,
            layout=layout,
            on_rows=counted,
            on_note=listener.note,
        )
        days.update(month_days)
        serials.append(month_serials)
    store.refuse_if_changed(source, context.hints.get("identity"))
    drives = len(pc.unique(pa.concat_arrays(serials))) if serials else 0
    rows = sum(info["rows"] for info in days.values())
    if not rows:
        raise BadInputError(str(source), "holds no rows of Drive Stats")
    context.rows.update({"rows": rows, "days": len(days), "drives": drives})
    context.notes["days"] = days
