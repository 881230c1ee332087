"""Every quirk of the raw data, each as a small fixture with exact bytes."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from conftest import write_day
from drivestats.backblaze import format as bb
from drivestats.backblaze.read import members_of, read_day

CORE = "date,serial_number,model,capacity_bytes,failure"


def only_day(path: Path):
    (member,) = members_of(path)
    return read_day(member)


def test_header_only_day_gives_an_empty_typed_table(tmp_path):
    table = only_day(
        write_day(tmp_path, "2014-11-02", CORE + ",smart_1_normalized,smart_1_raw", [])
    )
    assert table.num_rows == 0
    assert str(table.schema.field("smart_1_raw").type) == "int64"
    assert str(table.schema.field("date").type) == "date32[day]"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "bare CR"])
def test_line_endings(tmp_path, newline):
    rows = ["2018-01-05,A,ST4000DM000,4000787030016,0", "2018-01-05,B,ST4000DM000,4000787030016,1"]
    table = only_day(write_day(tmp_path, "2018-01-05", CORE, rows, newline=newline))
    assert table.column("serial_number").to_pylist() == ["A", "B"]
    assert table.column("failure").to_pylist() == [False, True]


def test_short_us_dates_of_2018_02_25_with_bare_cr(tmp_path):
    rows = ["2/25/18,A,ST4000DM000,4000787030016,0", "2/25/18,B,ST8000DM002,8001563222016,0"]
    table = only_day(write_day(tmp_path, "2018-02-25", CORE, rows, newline="\r"))
    assert table.column("date").to_pylist() == [dt.date(2018, 2, 25)] * 2


@pytest.mark.parametrize("written", ["2014-02-30", "2/30/14", "2014-03-32"])
def test_a_day_past_the_end_of_its_month_is_no_date(tmp_path, written):
    """Read as a rolled-over 2014-03-02 it would be filed under the file of that day."""
    rows = ["2014-03-02,A,ST4000DM000,4000787030016,0", f"{written},B,ST4000DM000,1,0"]
    with pytest.raises(Exception) as caught:
        only_day(write_day(tmp_path, "2014-03-02", CORE, rows))
    assert f"line 3: unparsable date {written!r}" in str(caught.value)


@pytest.mark.parametrize(
    "true, false", [("1", "0"), ("true", "false"), ("True", "False"), ("TRUE", "FALSE")]
)
def test_boolean_spellings(tmp_path, true, false):
    header = "date,serial_number,model,capacity_bytes,failure,vault_id,pod_id,is_legacy_format"
    rows = [f"2023-04-01,A,ST1,1,{false},1,2,{true}", f"2023-04-01,B,ST1,1,{true},1,2,{false}"]
    table = only_day(write_day(tmp_path, "2023-04-01", header, rows))
    assert table.column("failure").to_pylist() == [False, True]
    assert table.column("is_legacy_format").to_pylist() == [True, False]


def test_2023_columns_between_failure_and_smart_read_by_name(tmp_path):
    day = dt.date(2023, 9, 1)
    columns = bb.columns_for_day(day)
    assert columns[5:11] == [
        "datacenter",
        "cluster_id",
        "vault_id",
        "pod_id",
        "pod_slot_num",
        "is_legacy_format",
    ]
    values = {name: "" for name in columns}
    values.update(
        date="2023-09-01",
        serial_number="ZL0001",
        model="WDC  WUH721414ALE6L4",
        capacity_bytes="14000519643136",
        failure="0",
        datacenter="",
        cluster_id="007",
        vault_id="01042",
        pod_id="0012",
        pod_slot_num="05",
        is_legacy_format="False",
        smart_9_raw="12345",
        smart_9_normalized="099",
    )
    path = write_day(
        tmp_path, "2023-09-01", ",".join(columns), [",".join(values[c] for c in columns)]
    )
    table = only_day(path)
    row = table.to_pylist()[0]
    assert row["vault_id"] == 1042 and row["pod_id"] == 12 and row["cluster_id"] == 7
    assert row["pod_slot_num"] == 5
    assert row["datacenter"] is None  # blank for a whole vault on some days
    assert row["smart_9_raw"] == 12345 and row["smart_9_normalized"] == 99
    assert row["smart_1_raw"] is None  # empty SMART cells are nulls, not zeros
    assert row["model"] == "WDC  WUH721414ALE6L4"  # stored as it came
    assert row["model_clean"] == "WDC WUH721414ALE6L4"
    assert row["vendor"] == "WDC"
    assert table.num_columns == len(columns) + 2


def test_nonsense_capacities_are_stored_as_they_are(tmp_path):
    rows = [
        "2015-06-01,A,ST4000DM000,-1,0",
        "2015-06-01,B,ST4000DM000,-9116022715867848704,0",
        "2015-06-01,C,ST4000DM000,9116022715867848704,0",
    ]
    table = only_day(write_day(tmp_path, "2015-06-01", CORE, rows))
    assert table.column("capacity_bytes").to_pylist() == [
        -1,
        -9116022715867848704,
        9116022715867848704,
    ]


def test_unknown_future_column_is_kept_as_text(tmp_path):
    rows = ["2027-01-01,A,ST24000NM002H,24000277250048,0,rack-9"]
    table = only_day(write_day(tmp_path, "2027-01-01", CORE + ",rack_label", rows))
    assert table.column("rack_label").to_pylist() == ["rack-9"]


def test_2013_normalized_columns_all_empty(tmp_path):
    header = CORE + ",smart_1_normalized,smart_1_raw,smart_9_normalized,smart_9_raw"
    table = only_day(
        write_day(
            tmp_path, "2013-04-10", header, ["2013-04-10,A,ST3000DM001,3000592982016,0,,5,,4031"]
        )
    )
    assert table.column("smart_1_normalized").to_pylist() == [None]
    assert table.column("smart_9_raw").to_pylist() == [4031]


def test_zip_clutter_any_folder_any_order(tmp_path):
    archive = tmp_path / "data_Q1_2018.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("drive_stats_2018_Q1/2018-01-02.csv", CORE + "\r\n2018-01-02,B,ST1,1,0\r\n")
        zipped.writestr("__MACOSX/drive_stats_2018_Q1/._2018-01-01.csv", b"\x00\x05junk")
        zipped.writestr("drive_stats_2018_Q1/.DS_Store", b"Bud1")
        zipped.writestr("drive_stats_2018_Q1/2018-01-01.csv", CORE + "\r\n2018-01-01,A,ST1,1,0\r\n")
        zipped.writestr("drive_stats_2018_Q1/notes.csv", "x")
    assert [m.day for m in members_of(archive)] == ["2018-01-01", "2018-01-02"]


@pytest.mark.parametrize(
    "model, vendor, bare",
    [
        ("ST4000DM000", "Seagate", "ST4000DM000"),
        ("HGST HMS5C4040ALE640", "HGST", "HMS5C4040ALE640"),
        ("Hitachi HDS722020ALA330", "Hitachi", "HDS722020ALA330"),
        ("WDC WD30EFRX", "WDC", "WD30EFRX"),
        ("WDC  WUH721414ALE6L4", "WDC", "WUH721414ALE6L4"),
        ("TOSHIBA MQ01ABF050", "Toshiba", "MQ01ABF050"),
        ("SAMSUNG HD154UI", "Samsung", "HD154UI"),
        ("ST320005XXXX", "Seagate", "ST320005XXXX"),
        ("ST500LM012 HN", "Seagate", "ST500LM012 HN"),
        ("Seagate BarraCuda SSD ZA250CM10002", "Seagate", "BarraCuda SSD ZA250CM10002"),
        ("Mystery Drive 9", "unknown", "Mystery Drive 9"),
    ],
)
def test_vendor_and_label(model, vendor, bare):
    assert bb.vendor_of(model) == vendor
    assert bb.model_without_vendor(model) == bare


@pytest.mark.parametrize(
    "capacity, label",
    [
        (4000787030016, "4TB"),
        (1500301910016, "1.5TB"),
        (500107862016, "500GB"),
        (14000519643136, "14TB"),
    ],
)
def test_capacity_labels(capacity, label):
    assert bb.capacity_label(capacity) == label


def test_column_sets_per_period_match_reference_counts():
    expected = {
        dt.date(2013, 4, 10): 85,
        dt.date(2015, 1, 1): 95,
        dt.date(2019, 6, 1): 129,
        dt.date(2021, 2, 1): 149,
        dt.date(2022, 5, 1): 179,
        dt.date(2023, 5, 1): 186,
        dt.date(2023, 8, 1): 193,
    }
    for day, count in expected.items():
        assert len(bb.columns_for_day(day)) == count, day


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "bare CR"])
def test_days_cut_into_small_chunks_read_the_same(tmp_path, monkeypatch, newline):
    from drivestats.backblaze import read

    rows = [f"2018-02-25,S{i:04d},ST4000DM000,4000787030016,{int(i % 7 == 0)}" for i in range(300)]
    path = write_day(tmp_path, "2018-02-25", CORE, rows, newline=newline)
    whole = only_day(path)
    monkeypatch.setattr(read, "_CHUNK", 97)  # cut mid-line everywhere; chunks end at line ends
    chunked = only_day(path)
    assert chunked.equals(whole)
    assert chunked.num_rows == 300
    assert chunked.column("serial_number").to_pylist()[-1] == "S0299"


def test_bad_date_in_a_later_chunk_names_its_line(tmp_path, monkeypatch):
    from drivestats.backblaze import read
    from drivestats.errors import BadInputError

    rows = [f"2018-01-05,S{i:04d},ST4000DM000,4000787030016,0" for i in range(200)]
    rows[150] = "2018-13-45,BAD,ST4000DM000,4000787030016,0"
    path = write_day(tmp_path, "2018-01-05", CORE, rows)
    monkeypatch.setattr(read, "_CHUNK", 500)
    with pytest.raises(BadInputError) as raised:
        only_day(path)
    assert raised.value.line == 152  # header is line 1, rows[0] is line 2
    assert "unparsable date '2018-13-45'" in str(raised.value)


def test_197_columns_of_2024_q2_read_by_name(tmp_path):
    day = dt.date(2024, 4, 1)
    columns = bb.columns_for_day(day)
    assert len(columns) == 197
    assert columns[-len(bb.smart_columns([250, 251, 252, 254, 255])) :] == bb.smart_columns(
        [250, 251, 252, 254, 255]
    )
    assert {"smart_211_raw", "smart_212_normalized"} <= set(columns)
    values = {name: "" for name in columns}
    values |= {"date": "2024-04-01", "serial_number": "ZXA00001", "model": "ST24000NM002H"}
    values |= {"capacity_bytes": "24000277250048", "failure": "0", "smart_211_raw": "7"}
    values |= {"smart_212_normalized": "100", "smart_9_raw": "1.5e+3", "pod_slot_num": "07"}
    table = only_day(
        write_day(tmp_path, "2024-04-01", ",".join(columns), [",".join(values.values())])
    )
    assert table.num_columns == 197 + 2  # model_clean and vendor
    row = table.to_pylist()[0]
    assert (row["smart_211_raw"], row["smart_212_normalized"], row["smart_9_raw"]) == (7, 100, 1500)
    assert row["pod_slot_num"] == 7 and row["smart_211_normalized"] is None


@pytest.mark.parametrize("spelling", ["normailized", "Normailized", "normalised"])
def test_misspelt_smart_headers_are_stored_by_their_canonical_name(tmp_path, spelling):
    header = f"{CORE},smart_211_{spelling},smart_211_raw,smart_212_{spelling},smart_212_raw"
    rows = ["2024-07-02,A,ST1,1,0,100,5,99,6", "2024-07-02,B,ST1,1,0,,,98,"]
    table = only_day(write_day(tmp_path, "2024-07-02", header, rows))
    assert table.column_names[5:9] == bb.smart_columns([211, 212])
    assert table.column("smart_211_normalized").to_pylist() == [100, None]
    assert table.column("smart_212_normalized").to_pylist() == [99, 98]
    assert str(table.schema.field("smart_212_normalized").type) == "int64"


def test_a_misspelt_column_with_a_bad_value_is_named_by_line(tmp_path):
    header = f"{CORE},smart_211_normailized,smart_211_raw"
    rows = ["2024-07-02,A,ST1,1,0,100,5", "2024-07-02,B,ST1,1,0,oops,6"]
    with pytest.raises(Exception) as caught:
        only_day(write_day(tmp_path, "2024-07-02", header, rows))
    message = str(caught.value)
    assert "smart_211_normalized" in message and "'oops'" in message and "line 3" in message


def test_a_header_naming_one_column_twice_is_refused(tmp_path):
    header = f"{CORE},smart_211_normalized,smart_211_normailized"
    with pytest.raises(Exception) as caught:
        only_day(write_day(tmp_path, "2024-07-02", header, ["2024-07-02,A,ST1,1,0,1,2"]))
    said = str(caught.value)
    assert "names smart_211_normalized twice" in said and "(columns 6 and 7)" in said
    assert "line 1" in said
