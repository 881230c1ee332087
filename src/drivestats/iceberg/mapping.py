"""Backblaze's Iceberg and Parquet schema read into the store's, column by column, by name.

Backblaze's ``drivestats2iceberg`` keeps the headers as the CSV files spelt them (so
``smart_211_normailized`` beside ``smart_211_normalized``), stores ``failure``,
``pod_id``, ``pod_slot_num`` and ``is_legacy_format`` as int8, ``vault_id`` and
``cluster_id`` as strings and SMART values as int64, drops the columns a day left empty
and takes the date from the file name. The store keeps the types of ``format.stored_type``
and, for a day, the columns Backblaze's header had that day (the reference table of
``format.periods``) plus any other column holding values: a day read from the table gives
the rows, columns and types a day read from the zip gives.

A column that cannot be read as the store's type is refused with an error naming it
(and the first value that does not fit); nothing of that source is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from drivestats.backblaze import format as bb
from drivestats.errors import BadInputError


def _kind(stored: pa.DataType) -> str:
    if stored == pa.date32():
        return "date"
    if stored == pa.bool_():
        return "bool"
    if stored == pa.int64():
        return "int"
    return "string"


def _readable(kind: str, given: pa.DataType) -> bool:
    """Whether a column of this type can be read as a stored column of this kind at all."""
    if pa.types.is_dictionary(given):
        given = given.value_type
    text = pa.types.is_string(given) or pa.types.is_large_string(given)
    integer = pa.types.is_integer(given)
    if pa.types.is_null(given):
        return True
    if kind == "date":
        return pa.types.is_date(given) or pa.types.is_timestamp(given) or text
    if kind == "bool":
        return pa.types.is_boolean(given) or integer or text
    if kind == "int":
        return integer or pa.types.is_boolean(given) or pa.types.is_floating(given) or text
    return text or integer


class Mapping:
    """How the columns of one source schema become the store's columns.

    ``label`` names the source in errors (a file, or a table and its snapshot).
    """

    def __init__(self, label: str, schema: pa.Schema) -> None:
        self.label = label
        self.sources: dict[str, list[str]] = {}  # stored name -> the source's names for it
        for field in schema:
            name = bb.canonical_column(field.name)
            if name in bb.DERIVED_COLUMNS:
                continue  # made again from the model, as an import from a zip makes them
            self.sources.setdefault(name, []).append(field.name)
        missing = [name for name in bb.REQUIRED_COLUMNS if name not in self.sources]
        if missing:
            raise BadInputError(
                label,
                f"no column {', '.join(missing)}: not Backblaze's Drive Stats schema "
                f"(columns: {', '.join(schema.names[:8])}{' …' if len(schema) > 8 else ''})",
            )
        for name, given in self.sources.items():
            kind = _kind(bb.stored_type(name))
            for source_name in given:
                source_type = schema.field(source_name).type
                if not _readable(kind, source_type):
                    raise BadInputError(
                        label,
                        f"column {source_name} is {source_type}, which cannot be read as the "
                        f"store's {bb.stored_type(name)}",
                    )
        self.date_column = self.sources["date"][0]

    def columns_for(self, day: str, holding_values: Iterable[str] | None) -> list[str]:
        """The stored columns of a day: Backblaze's header of that day, then any other column
        of the source that holds values (``holding_values``: stored names; None: all of them)."""
        header = bb.columns_for_day(dt.date.fromisoformat(day))
        known = set(header)
        holding = None if holding_values is None else set(holding_values)
        extra = [
            name
            for name in self.sources
            if name not in known and (holding is None or name in holding)
        ]
        return header + extra

    def stored(self, batch: pa.RecordBatch | pa.Table) -> dict[str, pa.Array]:
        """The source's columns of a batch as stored columns (by stored name), checked."""
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        columns: dict[str, pa.Array] = {}
        for name, given in self.sources.items():
            arrays = [_as_array(table.column(source)) for source in given]
            converted = [
                self._converted(name, source, a) for source, a in zip(given, arrays, strict=True)
            ]
            columns[name] = (
                converted[0] if len(converted) == 1 else self._joined(name, given, converted)
            )
        for name in ("date", "serial_number", "model", "failure"):
            column = columns[name]
            if column.null_count:
                raise BadInputError(
                    self.label, f"column {self.sources[name][0]}: empty {name} in a row"
                )
        return columns

    def _converted(self, name: str, source: str, array: pa.Array) -> pa.Array:
        stored = bb.stored_type(name)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if array.type == stored:
            return array
        if pa.types.is_null(array.type):
            return pa.nulls(len(array), stored)
        kind = _kind(stored)
        text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        try:
            if kind == "bool" and not pa.types.is_boolean(array.type):
                if text:
                    return self._bool_from_text(source, array)
                bad = pc.invert(pc.is_in(array, value_set=pa.array([0, 1], array.type)))
                bad = pc.and_(bad, pc.is_valid(array))
                if pc.any(bad).as_py():
                    value = array.filter(bad)[0].as_py()
                    raise BadInputError(
                        self.label, f"column {source}: {value!r} is neither 0 nor 1"
                    )
                return pc.not_equal(array, pa.scalar(0, array.type))
            if kind == "int" and text:
                array = pc.utf8_trim_whitespace(array)
                array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
            if kind == "date" and text:
                array = pc.cast(array, pa.date32())
            return pc.cast(array, stored)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise BadInputError(
                self.label,
                f"column {source}: {self._first_unfit(array, stored)!r} is not a valid {stored}",
            ) from None

    def _bool_from_text(self, source: str, array: pa.Array) -> pa.Array:
        true = pc.is_in(array, value_set=pa.array(bb.TRUE_SPELLINGS, array.type))
        false = pc.is_in(array, value_set=pa.array(bb.FALSE_SPELLINGS, array.type))
        bad = pc.and_(pc.is_valid(array), pc.invert(pc.or_(true, false)))
        if pc.any(bad).as_py():
            value = array.filter(bad)[0].as_py()
            raise BadInputError(self.label, f"column {source}: {value!r} is not a valid bool")
        return pc.if_else(pc.is_valid(array), true, pa.scalar(None, pa.bool_()))

    @staticmethod
    def _first_unfit(array: pa.Array, stored: pa.DataType) -> object:
        for value in array.to_pylist():
            if value is None:
                continue
            try:
                pa.array([value]).cast(stored)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                return value
        return None

    def _joined(self, name: str, given: list[str], arrays: list[pa.Array]) -> pa.Array:
        """One stored column from several spellings of it (one day writes one, another the other)."""
        joined = arrays[0]
        for source, array in zip(given[1:], arrays[1:], strict=True):
            both = pc.and_(pc.is_valid(joined), pc.is_valid(array))
            differ = pc.fill_null(pc.and_(both, pc.not_equal(joined, array)), False)
            if pc.any(differ).as_py():
                raise BadInputError(
                    self.label,
                    f"columns {given[0]} and {source} (both {name}) hold different values in "
                    "one row; which one is right cannot be known",
                )
            joined = pc.coalesce(joined, array)
        return joined

    def days(
        self, batch: pa.RecordBatch | pa.Table, layout: dict[str, list[str]] | None = None
    ) -> Iterator[tuple[str, pa.Table]]:
        """The batch's rows as store tables, one per day, in the stored columns of that day.

        ``layout`` gives a day's columns (from ``columns_for``) when known; else every
        column of the source.
        """
        from drivestats.backblaze.read import _with_derived_columns

        columns = self.stored(batch)
        dates = columns["date"]
        distinct = pc.unique(dates).to_pylist()
        for value in sorted(distinct):
            day = value.isoformat()
            if len(distinct) == 1:
                picked = columns
            else:
                mask = pc.equal(dates, pa.scalar(value, pa.date32()))
                picked = {name: pc.filter(array, mask) for name, array in columns.items()}
            rows = len(picked["date"])
            names = list((layout or {}).get(day) or self.columns_for(day, None))
            # A column the layout thought empty but that holds values here is kept, never lost.
            names += [n for n in picked if n not in names and picked[n].null_count < rows]
            fields, arrays = [], []
            empty: dict[pa.DataType, pa.Array] = {}
            for name in names:
                stored = bb.stored_type(name)
                fields.append(pa.field(name, stored))
                if name in picked:
                    arrays.append(picked[name])
                else:  # a column Backblaze left out as empty that day, or one the source lacks
                    arrays.append(empty.setdefault(stored, pa.nulls(rows, stored)))
            table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
            yield day, _with_derived_columns(table)


def _as_array(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
