"""One month of rows from a Parquet or Iceberg source, written as a store month file.

The rows come as Arrow batches in the source's schema, in any order of days; each is
mapped to the store's columns day by day and handed to the month writer, which sorts
each row group by drive and then date (so the order the rows come in does not change
the month's rows). Per day it counts rows and failures, and it refuses a day that
repeats a drive more than ``store.DUPLICATE_LIMIT`` times, as the zip import does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from drivestats import months
from drivestats.errors import BadInputError
from drivestats.iceberg.mapping import Mapping


def write_month(
    target: Path,
    month: str,
    batches: Iterable[pa.RecordBatch | pa.Table],
    mapping: Mapping,
    provenance: dict[str, Any],
    member: str,
    layout: dict[str, list[str]] | None = None,
    on_rows: Callable[[int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[dict[str, dict[str, Any]], pa.Array]:
    """Write the month's rows to ``target``; the days' notes and the month's distinct serials."""
    from drivestats.store import DUPLICATE_LIMIT

    writer = months.MonthWriter(target, {**provenance, "month": month})
    days: dict[str, dict[str, Any]] = {}
    serials: dict[str, list[pa.Array]] = {}
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            for day, table in mapping.days(batch, layout):
                if months.month_of(day) != month:
                    raise BadInputError(
                        mapping.label, f"a row dated {day} among the rows of month {month}"
                    )
                writer.add(table)
                info = days.setdefault(
                    day, {"member": member, "rows": 0, "failures": 0, "columns": 0}
                )
                info["rows"] += table.num_rows
                info["failures"] += int(pc.sum(table.column("failure")).as_py() or 0)
                info["columns"] = max(info["columns"], table.num_columns - 2)
                serials.setdefault(day, []).append(table.column("serial_number").combine_chunks())
            if on_rows is not None:
                on_rows(batch.num_rows)
        if not days:
            writer.abort()
            return {}, pa.array([], pa.string())
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    distinct: list[pa.Array] = []
    for day in sorted(serials):
        arrays = serials.pop(day)
        everyone = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
        unique = pc.unique(everyone)
        distinct.append(unique)
        if len(unique) < len(everyone):
            repeated = _repeated(everyone)
            days[day]["duplicates"] = repeated
            if repeated["rows"] > DUPLICATE_LIMIT:
                target.unlink(missing_ok=True)
                raise BadInputError(
                    mapping.label,
                    f"{day}: {repeated['rows']:,} rows repeat a drive already reported that day "
                    f"({_described(repeated)}); more than {DUPLICATE_LIMIT} is a broken "
                    "source, so nothing was stored",
                )
            if on_note is not None:
                on_note(
                    f"{day}: {repeated['rows']:,} rows repeat a drive of that day "
                    f"({_described(repeated)}); kept as published"
                )
    serial_set = pc.unique(pa.concat_arrays(distinct)) if distinct else pa.array([], pa.string())
    return dict(sorted(days.items())), serial_set


def _repeated(serials: pa.Array) -> dict[str, Any]:
    counts = pc.value_counts(serials)
    values, numbers = counts.field("values"), counts.field("counts")
    more = pc.greater(numbers, 1)
    repeated = sorted(
        zip(values.filter(more).to_pylist(), numbers.filter(more).to_pylist(), strict=True)
    )
    return {
        "rows": sum(n - 1 for _, n in repeated),
        "first": [{"serial": serial, "times": n} for serial, n in repeated[:3]],
    }


def _described(found: dict[str, Any]) -> str:
    return "; ".join(f"{entry['serial']} {entry['times']} times" for entry in found["first"])
