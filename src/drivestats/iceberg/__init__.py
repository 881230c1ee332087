"""Apache Iceberg both ways: Backblaze's Iceberg table and Parquet files in, the store out.

Backblaze publishes Drive Stats as an Iceberg table (and the same rows as Parquet files)
in a schema of its own: ``failure``, ``pod_id``, ``pod_slot_num`` and ``is_legacy_format``
as int8, ``vault_id`` and ``cluster_id`` as strings, SMART columns int64, columns that a
day left empty dropped, the headers as the CSV files spelt them, partitioned by month of
``date``. ``mapping`` reads that schema into the store's; ``parquet_source`` imports plain
Parquet files and ``table_source`` a table snapshot, month by month; ``pins`` and
``export`` publish the store as an Iceberg table of its own.

Nothing here imports pyiceberg at module level: only a table source or the export does,
so that a zip-only user never pays for it (nor needs it installed).
"""
