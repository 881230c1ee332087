"""Month files: one month of drive days as one Parquet file, each drive's rows together.

A daily file repeats every serial number and every slowly changing SMART value
every day, and no Parquet encoding sees across files. A month file gathers
consecutive days into large row groups and sorts each row group by drive and
then date, so that dictionaries, deltas and run lengths work across the days
a row group spans (most of a month for a fleet of 2013, about two days of
2026's 345,000 drives): from half the size of DuckDB's own file of the same
rows to about its size (BENCHMARKS.md). Memory is two row groups (one
gathering, one written; each at most ROW_GROUP_BYTES or ROW_GROUP_ROWS),
whatever the month's size.

The same days, added in the same order, give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from drivestats import provenance

ROW_GROUP_BYTES = 768 << 20  # Arrow bytes of rows gathered before a row group is sorted and written
# At most this many rows, too. Memory is two row groups (one gathering, one written) and
# fresh memory costs its pages' zeroing: a 2016 quarter's import peaked at 2.0 GB with
# 1 Mi-row groups and 1.4 GB with these, and took a sixth less time, for a store 0.60 of
# DuckDB's size instead of 0.51; 2026's groups (820,000 rows before) make a store 0.99 of
# DuckDB's instead of 0.96 (BENCHMARKS.md, import).
ROW_GROUP_ROWS = 640 << 10
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}
# Statistics where a reader may prune; none for the ~190 SMART columns nobody filters on.
STATISTICS = ["date", "serial_number", "model", "model_clean", "vendor", "failure"]


def month_of(day: str) -> str:
    """'2021-03' for '2021-03-31'."""
    return day[:7]


class MonthWriter:
    """Writes one month's rows, added day after day, as sorted row groups on a thread of its own."""

    def __init__(
        self, target: Path, metadata: dict[str, Any], after: MonthWriter | None = None
    ) -> None:
        """``after``: the previous month's writer, closed and still writing its last rows.

        This one hands over nothing before that one is finished, so memory stays at
        one group written while the next gathers, and the next month is parsed while
        the last one is written instead of waiting for it.
        """
        self.target = target
        self.after = after
        self.closed = False
        self.metadata = json.dumps(metadata, sort_keys=True)
        self.pending: list[pa.Table] = []
        self.pending_bytes = self.pending_rows = 0
        self.rows = 0
        self.schema: pa.Schema | None = None
        self.parts: list[Path] = []  # more than one only if the column set changed within the month
        self.handoff: queue.Queue[list[pa.Table] | None] = queue.Queue(maxsize=1)
        self.failure: list[BaseException] = []
        self.thread = threading.Thread(target=self._write, name=f"write {target.name}")
        self.thread.start()

    def add(self, table: pa.Table) -> None:
        """Rows of the month, in the order they should count as coming (day by day)."""
        if self.failure:
            raise self.failure[0]
        if self.schema is None:
            self.schema = table.schema
        elif not table.schema.equals(self.schema):
            self._hand_over()
            self.handoff.put([])  # an empty hand-over: start a new part with the next schema
            self.schema = table.schema
        if table.num_rows == 0:
            return
        self.pending.append(table)
        # Empty columns share one null array: only the others take memory.
        self.pending_bytes += sum(c.nbytes for c in table.columns if c.null_count < len(c))
        self.rows += table.num_rows
        self.pending_rows += table.num_rows
        if self.pending_bytes >= ROW_GROUP_BYTES or self.pending_rows >= ROW_GROUP_ROWS:
            self._hand_over()

    def _hand_over(self) -> None:
        if self.pending:
            self._finish_previous()
            # At most one group written while the next one gathers: memory is two groups.
            self.handoff.join()
            self.handoff.put(self.pending)
        self.pending, self.pending_bytes, self.pending_rows = [], 0, 0

    def _finish_previous(self) -> None:
        if self.after is not None:
            previous, self.after = self.after, None
            try:
                previous.finish()
            except BaseException:
                previous.abort()
                raise

    def close(self) -> None:
        """Hand over what is left and return while it is written; finish() waits for it."""
        if self.closed:
            return
        if self.schema is not None and not self.rows and not self.pending:
            self.pending = [self.schema.empty_table()]
        self._hand_over()
        self.handoff.put(None)
        self.closed = True

    def finish(self) -> int:
        """Write what is left, wait for the writer, and make the parts one file if there are many."""
        self.close()
        self._finish_previous()
        self.thread.join()
        if self.failure:
            raise self.failure[0]
        if len(self.parts) > 1:
            _merge_parts(self.parts, self.target, self.metadata)
        elif self.parts:
            self.parts[0].replace(self.target)
        return self.rows

    def abort(self) -> None:
        """Stop the writer (and the previous month's) and remove what they wrote."""
        if self.after is not None:
            previous, self.after = self.after, None
            previous.abort()
        if self.thread.is_alive():
            self.pending = []
            if not self.closed:
                self.handoff.put(None)
                self.closed = True
            self.thread.join()
        for part in self.parts:
            part.unlink(missing_ok=True)

    def _write(self) -> None:
        writer: pq.ParquetWriter | None = None
        try:
            while (tables := self.handoff.get()) is not None:
                if not tables:
                    if writer is not None:
                        writer.close()
                        writer = None
                    self.handoff.task_done()
                    continue
                group = sorted_by_drive(tables)
                if writer is None:
                    part = self.target.with_name(f".{self.target.name}.part{len(self.parts)}")
                    self.parts.append(part)
                    writer = _writer(part, group.schema, self.metadata)
                writer.write_table(group, row_group_size=max(group.num_rows, 1))
                del group
                self.handoff.task_done()
        except BaseException as error:  # noqa: BLE001 - raised again in the adding thread
            if isinstance(error, OSError) and error.filename is None and self.parts:
                # pyarrow's errors do not say which file: a full disk should.
                error = OSError(error.errno, error.strerror or str(error), str(self.parts[-1]))
            self.failure.append(error)
            self.handoff.task_done()
            while self.handoff.get() is not None:  # keep the adder from blocking
                self.handoff.task_done()
        finally:
            if writer is not None:
                writer.close()


def _writer(path: Path, schema: pa.Schema, metadata: str) -> pq.ParquetWriter:
    text = [f.name for f in schema if pa.types.is_string(f.type)]
    numbers = {f.name: "DELTA_BINARY_PACKED" for f in schema if pa.types.is_integer(f.type)}
    return pq.ParquetWriter(
        path,
        schema.with_metadata({provenance.PARQUET_KEY: metadata}),
        use_dictionary=text,
        column_encoding=numbers,
        write_statistics=[name for name in STATISTICS if name in schema.names],
        **PARQUET_OPTIONS,
    )


def sorted_by_drive(tables: list[pa.Table]) -> pa.Table:
    """Tables of one schema as one, rows ordered by serial number and then date.

    Empties the list it is given: each column's rows are let go once they are reordered,
    so memory stays near one copy of the rows, not two. Columns that are empty in every
    table stay one shared null array (no copy).
    """
    schema = tables[0].schema
    parts: list[list[pa.Array] | None] = [
        [chunk for table in tables for chunk in table.column(index).chunks]
        for index in range(len(schema))
    ]
    tables.clear()

    def column(index: int) -> pa.ChunkedArray:
        chunks = parts[index]
        assert chunks is not None
        return pa.chunked_array(chunks, schema.field(index).type)

    serial, date = schema.get_field_index("serial_number"), schema.get_field_index("date")
    keys = pa.table({"serial_number": column(serial), "date": column(date)}).combine_chunks()
    order = pc.sort_indices(keys, sort_keys=[("serial_number", "ascending"), ("date", "ascending")])
    del keys
    rows = len(order)
    empty: dict[pa.DataType, pa.Array] = {}

    def reordered(index: int) -> pa.Array | pa.ChunkedArray:
        whole = column(index)
        parts[index] = None
        if whole.null_count == rows:
            return empty.setdefault(whole.type, pa.nulls(rows, whole.type))
        # Taken from the chunks as they are (joining them first cost a copy of every column),
        # unchecked: the order is a permutation of the rows.
        return pc.take(whole, order, boundscheck=False)

    # take releases the GIL: the columns are gathered on both cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        columns = list(pool.map(reordered, range(len(schema))))
    return pa.Table.from_arrays(columns, schema=schema.remove_metadata())


def _merge_parts(parts: list[Path], target: Path, metadata: str) -> None:
    """Parts written under different column sets, as one file of all their columns."""
    schemas = [pq.read_schema(part).remove_metadata() for part in parts]
    schema = pa.unify_schemas(schemas)
    with _writer(target, schema, metadata) as writer:
        for part in parts:
            parquet = pq.ParquetFile(part)
            for index in range(parquet.num_row_groups):
                group = parquet.read_row_group(index)
                writer.write_table(_conformed(group, schema), row_group_size=max(group.num_rows, 1))
    for part in parts:
        part.unlink()


def _conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A table in a wider schema: missing columns as nulls, columns in the schema's order."""
    position = {name: index for index, name in enumerate(table.column_names)}
    columns = []
    for field in schema:
        if field.name in position:
            column = table.column(position[field.name])
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def rows_of(path: Path, days: Iterable[str] | None = None) -> Iterator[pa.Table]:
    """The rows of a stored file (month or older daily file), row group by row group; some days only."""
    wanted = (
        None
        if days is None
        else pa.array(sorted(dt.date.fromisoformat(d) for d in days), pa.date32())
    )
    parquet = pq.ParquetFile(path)
    for index in range(parquet.num_row_groups):
        group = parquet.read_row_group(index)
        if wanted is not None:
            group = group.filter(pc.is_in(group.column("date"), value_set=wanted))
        if group.num_rows:
            yield group.replace_schema_metadata(None)
