"""The store: one Parquet file per month (see months.py), imported source by source, atomically.

The package follows an import: ``import_stage`` (one source read into month files, a job),
``importing`` (which sources, their builds, refusals, the publication of a job's months),
``publishing`` (the store lock, the journal, recovery), ``listing`` (the stored days, the
files a job reads, snapshots) and ``reports`` (what a run tells its caller).

Importing a source is a job (stage ``import``) whose outputs are its month
files, written in the job's own folder. The store's
``months/YYYY/YYYY-MM.parquet`` are hard links to those outputs when one
source holds the month, so the store costs no extra space and every month file
names the job that made it; a month that keeps days of another source is
merged into a new file first. The catalog lists every day and where it is.

Publishing a source's months into the store goes through a journal: the list
of renames is written first, then applied, then entered into the catalog. A run
killed at any point leaves either the store as it was (no journal yet) or a
journal that the next import rolls forward.
"""

from drivestats.store.import_stage import (
    DUPLICATE_LIMIT,
    IMPORT,
    file_identity,
    refuse_if_changed,
    source_name,
)
from drivestats.store.importing import (
    KEEP_SHARE,
    ImportBuild,
    ImportBuilder,
    LocalBuilder,
    days_held,
    days_replaced,
    fill_outcome,
    import_build,
    import_sources,
    known_source,
    publication,
    refuse_shrinking_days,
)
from drivestats.store.listing import (
    Snapshot,
    connect_duckdb,
    day_files,
    day_inputs,
    files_of_inputs,
    snapshot,
    sources,
    stored_days,
)
from drivestats.store.publishing import JOURNAL, publish, publish_lock, recover, store_lock
from drivestats.store.reports import ImportListener, ImportReport, SilentListener, SourceOutcome

__all__ = [
    "DUPLICATE_LIMIT",
    "IMPORT",
    "JOURNAL",
    "KEEP_SHARE",
    "ImportBuild",
    "ImportBuilder",
    "ImportListener",
    "ImportReport",
    "LocalBuilder",
    "SilentListener",
    "Snapshot",
    "SourceOutcome",
    "connect_duckdb",
    "day_files",
    "day_inputs",
    "days_held",
    "days_replaced",
    "file_identity",
    "files_of_inputs",
    "fill_outcome",
    "import_build",
    "import_sources",
    "known_source",
    "publication",
    "publish",
    "publish_lock",
    "recover",
    "refuse_if_changed",
    "refuse_shrinking_days",
    "snapshot",
    "source_name",
    "sources",
    "store_lock",
    "stored_days",
]
