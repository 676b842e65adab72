"""TableFile: header detection, delimiters, encodings, line numbers and structural errors."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_support import write

from labelbench.errors import InputError
from labelbench.ingest.table import RawChunk, RowError, TableFile, normalise_name

HINTS = frozenset({"country", "day", "value"})


def chunks_of(path: Path, **kwargs: object) -> tuple[TableFile, list[RawChunk]]:
    with TableFile(path, header_hints=HINTS, **kwargs) as table:  # type: ignore[arg-type]
        return table, list(table.chunks())


def rows_of(chunks: list[RawChunk]) -> list[tuple[int, list[str | None]]]:
    return [
        (int(line), list(row))
        for chunk in chunks
        for line, row in zip(chunk.lines, chunk.frame.itertuples(index=False), strict=True)
    ]


def errors_of(chunks: list[RawChunk]) -> list[RowError]:
    return [e for chunk in chunks for e in chunk.errors]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("End date", "end_date"),
        (" Country Code ", "country_code"),
        ("probe_cc", "probe_cc"),
        ("Anomaly-Rate (%)", "anomaly_rate"),
        ("__x__", "x"),
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_row_error_describe() -> None:
    cell = RowError(12, "End date", "cannot read '31/31/2020' as a date", "31/31/2020")
    assert cell.describe() == "line 12, column 'End date': cannot read '31/31/2020' as a date"
    assert RowError(3, None, "expected 6 fields, found 7").describe() == (
        "line 3: expected 6 fields, found 7"
    )


def test_preamble_comments_and_blank_lines_keep_physical_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "notes.csv",
        "Source: OONI, exported 2024-01-01\n"
        "# a comment\n"
        "\n"
        "Country,Day,Value\n"
        "IR,2020-01-01,1\n"
        "# a comment between rows\n"
        "\n"
        "  RU , 2020-01-02 ,\n",
    )
    table, chunks = chunks_of(path)
    assert table.format == "csv"
    assert table.columns == ["Country", "Day", "Value"]
    assert table.header_line == 4
    assert table.preamble == ["Source: OONI, exported 2024-01-01", "# a comment"]
    assert rows_of(chunks) == [
        (5, ["IR", "2020-01-01", "1"]),
        (8, ["RU", "2020-01-02", None]),
    ]
    assert errors_of(chunks) == []
    assert all(chunk.frame.dtypes.eq(object).all() for chunk in chunks)


def test_without_a_hinted_header_the_first_line_is_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "other.csv", "\n# note\nfoo,bar\n1,2\n")
    table, chunks = chunks_of(path)
    assert (table.columns, table.header_line, table.preamble) == (["foo", "bar"], 3, ["# note"])
    assert rows_of(chunks) == [(4, ["1", "2"])]


def test_byte_order_mark_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbfcountry,day\r\nIR,2020-01-01\r\n")
    table, chunks = chunks_of(path)
    assert table.columns == ["country", "day"]
    assert rows_of(chunks) == [(2, ["IR", "2020-01-01"])]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semi.csv", "country;day;value\nIR;2020-01-01;1,5\n"),
        ("tab.csv", "country\tday\tvalue\nIR\t2020-01-01\t1,5\n"),
        ("tab.tsv", "country\tday\tvalue\nIR\t2020-01-01\t1,5\n"),
        ("pipe.txt", "country|day|value\nIR|2020-01-01|1,5\n"),
    ],
)
def test_delimiters_are_sniffed_on_the_header(tmp_path: Path, name: str, text: str) -> None:
    table, chunks = chunks_of(write(tmp_path, name, text))
    assert table.columns == ["country", "day", "value"]
    assert rows_of(chunks) == [(2, ["IR", "2020-01-01", "1,5"])]


def test_tsv_forces_tab_even_when_commas_dominate(tmp_path: Path) -> None:
    path = write(tmp_path, "x.tsv", "country\tday, value, other\nIR\t2020,1,2\n")
    table, chunks = chunks_of(path)
    assert table.columns == ["country", "day, value, other"]
    assert rows_of(chunks) == [(2, ["IR", "2020,1,2"])]


def test_quoted_comma_and_newline_keep_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "quoted.csv",
        'country,value,day\nIR,"a, b\nc",2020-01-01\nRU,"say ""hi""",2020-01-02\nTR,x,2020-01-03\n',
    )
    _, chunks = chunks_of(path)
    assert rows_of(chunks) == [
        (2, ["IR", "a, b\nc", "2020-01-01"]),
        (4, ["RU", 'say "hi"', "2020-01-02"]),
        (5, ["TR", "x", "2020-01-03"]),
    ]


def test_wrong_field_count_is_a_structural_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "count.csv",
        "country,day,value\nIR,2020-01-01,1\nIR,2020-01-02,2,extra\nRU,2020-01-03\nTR,2020-01-04,4\n",
    )
    _, chunks = chunks_of(path)
    assert [line for line, _ in rows_of(chunks)] == [2, 5]
    assert errors_of(chunks) == [
        RowError(3, None, "expected 3 fields, found 4"),
        RowError(4, None, "expected 3 fields, found 2"),
    ]
    bad = {line: cells for chunk in chunks for line, cells in chunk.bad_rows.items()}
    assert bad == {3: ["IR", "2020-01-02", "2", "extra"], 4: ["RU", "2020-01-03"]}


def test_trailing_delimiters_and_all_empty_rows_are_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, "trail.csv", "country,day,\nIR,2020-01-01,\n,,\n , \nRU,2020-01-02,,\n")
    table, chunks = chunks_of(path)
    assert table.columns == ["country", "day"]
    assert rows_of(chunks) == [(2, ["IR", "2020-01-01"]), (5, ["RU", "2020-01-02"])]
    assert errors_of(chunks) == []


def test_undecodable_bytes_name_the_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "latin.csv",
        b"country,day,value\nIR,2020-01-01,caf\xe9\nRU,2020-01-02,ok\nTR,\xff,1,2\n",
    )
    _, chunks = chunks_of(path)
    assert rows_of(chunks) == [(3, ["RU", "2020-01-02", "ok"])]
    message = "not valid UTF-8 text (save the file as UTF-8)"
    assert errors_of(chunks) == [
        RowError(2, "value", message, "caf\ufffd"),
        RowError(4, None, "expected 3 fields, found 4"),
        RowError(4, None, message),
    ]
    bad = {line: cells for chunk in chunks for line, cells in chunk.bad_rows.items()}
    assert bad[2] == ["IR", "2020-01-01", "caf\ufffd"]


def test_other_encodings_can_be_named(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.csv", "country,value\nIR,café\n".encode("latin-1"))
    _, chunks = chunks_of(path, encoding="latin-1")
    assert rows_of(chunks) == [(2, ["IR", "café"])]


def test_bad_quoting_is_reported_per_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "q.csv", 'country,day\nIR,"x"y\nRU,2020-01-02\nTR,"2020-01-03\nIR,2020-01-04\n'
    )
    _, chunks = chunks_of(path)
    assert rows_of(chunks) == [(3, ["RU", "2020-01-02"])]
    assert [(e.line, e.column) for e in errors_of(chunks)] == [(2, None), (4, None)]
    assert "never closed" in errors_of(chunks)[1].message


def test_chunks_are_bounded_and_numbered_continuously(tmp_path: Path) -> None:
    body = "".join(f"IR,2020-01-{d:02d},{d}\n" for d in range(1, 11))
    path = write(tmp_path, "many.csv", "country,day,value\n" + body)
    table, chunks = chunks_of(path, chunk_rows=4)
    assert [len(c.frame) for c in chunks] == [4, 4, 2]
    assert np.concatenate([c.lines for c in chunks]).tolist() == list(range(2, 12))
    assert chunks[0].lines.dtype == np.int64
    assert table.bytes_read() == table.size_bytes


def test_gzip_round_trip_and_progress(tmp_path: Path) -> None:
    body = "".join(f"IR,2020-01-{d % 28 + 1:02d},{d}\n" for d in range(3000))
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(("country,day,value\n" + body).encode()))
    with TableFile(path, header_hints=HINTS, chunk_rows=1000) as table:
        progress = []
        total = 0
        for chunk in table.chunks():
            total += len(chunk.frame)
            progress.append(table.bytes_read())
        assert total == 3000
        assert progress == sorted(progress)
        assert table.bytes_read() == table.size_bytes == path.stat().st_size


def test_broken_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv.gz", b"country,day\nIR,2020-01-01\n")
    with pytest.raises(InputError, match="not a valid gzip file"):
        TableFile(path, header_hints=HINTS)


def test_parquet_round_trip(tmp_path: Path) -> None:
    table = pa.table(
        {
            " country ": ["IR", None, "RU", "  "],
            "day": [dt.date(2020, 1, 31), dt.date(2020, 2, 1), None, None],
            "observed": pa.array(
                [dt.datetime(2020, 1, 31, 12, tzinfo=dt.UTC), None, None, None],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "value": [0.1, float("nan"), 1e20, None],
            "count": pa.array([1, 2, None, None], type=pa.int64()),
            "flag": [True, False, None, None],
        }
    )
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=2)
    with TableFile(path, header_hints=HINTS, chunk_rows=1) as reader:
        assert reader.format == "parquet"
        assert reader.columns == ["country", "day", "observed", "value", "count", "flag"]
        assert (reader.header_line, reader.preamble) == (1, [])
        chunks = list(reader.chunks())
        assert reader.bytes_read() == reader.size_bytes
    assert rows_of(chunks) == [
        (2, ["IR", "2020-01-31", "2020-01-31T12:00:00+00:00", "0.1", "1", "true"]),
        (3, [None, "2020-02-01", None, None, "2", "false"]),
        (4, ["RU", None, None, "1e+20", None, None]),
    ]  # line 5 (all empty) is skipped


def test_unreadable_parquet_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.parquet", b"PAR1 this is not parquet")
    with pytest.raises(InputError, match=r"cannot read broken\.parquet as Parquet"):
        TableFile(path, header_hints=HINTS)


def test_duplicate_header_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "note\ncountry,day,country\nIR,2020-01-01,IR\n")
    with pytest.raises(
        InputError, match=r"column 'country' appears twice in the header \(line 2\)"
    ):
        TableFile(path, header_hints=HINTS)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", "", "is empty"),
        ("blank.csv", "\n\n# only a comment\n", "has no header line"),
        ("data.xlsx", "country,day\n", r"cannot tell the format of data.xlsx: use \.csv"),
        ("nameless.csv", "country,,day\nIR,x,2020\n", "column 2 of the header"),
    ],
)
def test_unusable_files_are_input_errors(
    tmp_path: Path, name: str, content: str, match: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputError, match=match):
        TableFile(path, header_hints=HINTS)


def test_missing_file_and_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        TableFile(tmp_path / "nope.csv", header_hints=HINTS)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        TableFile(folder, header_hints=HINTS)


def test_header_only_file_yields_nothing(tmp_path: Path) -> None:
    table, chunks = chunks_of(write(tmp_path, "head.csv", "country,day\n"))
    assert table.columns == ["country", "day"]
    assert chunks == []
