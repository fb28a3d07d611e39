from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ml.eventlog import EventLogError, from_rows, read_csv, read_event_log, read_labels, read_xes

HEADER = "case_id,activity,timestamp,lifecycle,resource,case_amount_req,colour\n"


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_reads_optional_columns_ignores_unknown_and_sorts_by_time(tmp_path):
    path = write(tmp_path / "log.csv", HEADER
                 + "a,second,2024-01-01T10:00:00+02:00,complete,r1,1000,red\n"
                 + "a,first,2024-01-01T07:30:00Z,START,,1000,blue\n"
                 + "b,only,2024-01-02 09:00:00,,,,\n")
    log = read_csv(path)
    assert [c.case_id for c in log] == ["a", "b"]
    first, second = log.cases[0].events
    assert (first.activity, second.activity) == ("first", "second")
    assert second.timestamp == datetime(2024, 1, 1, 8, 0, tzinfo=timezone.utc)
    assert second.utc_offset_min == 120 and second.local_time.hour == 10
    assert second.lifecycle == "COMPLETE" and second.resource == "r1" and second.amount == 1000.0
    assert not hasattr(second, "colour")
    naive = log.cases[1].events[0]
    assert naive.timestamp.tzinfo == timezone.utc and naive.amount is None and naive.lifecycle == ""


def test_simultaneous_events_keep_file_order(tmp_path):
    rows = "".join(f"a,step{i},2024-01-01T00:00:00Z,,,,\n" for i in range(5))
    log = read_csv(write(tmp_path / "log.csv", HEADER + rows))
    assert [e.activity for e in log.cases[0].events] == [f"step{i}" for i in range(5)]


def test_bad_rows_raise_with_line_numbers(tmp_path):
    path = write(tmp_path / "log.csv", HEADER
                 + "a,x,2024-01-01T00:00:00Z,,,,\n"  # line 2 fine
                 + "a,x,yesterday,,,,\n"  # line 3 bad timestamp
                 + ",x,2024-01-01T00:00:00Z,,,,\n"  # line 4 no case id
                 + "b,,2024-01-01T00:00:00Z,,,,\n"  # line 5 no activity
                 + "b,x,2024-01-01T00:00:00Z,,,lots,\n")  # line 6 bad amount
    with pytest.raises(EventLogError) as info:
        read_csv(path)
    assert info.value.lines == [3, 4, 5, 6]
    assert "3, 4, 5, 6" in str(info.value) and "bad timestamp" in str(info.value)


def test_skip_mode_reports_lines_and_drops_empty_cases(tmp_path):
    path = write(tmp_path / "log.csv", HEADER
                 + "a,x,2024-01-01T00:00:00Z,,,,\n"
                 + "b,x,not-a-time,,,,\n")  # case b has no good event left
    log = read_csv(path, on_error="skip")
    assert log.case_ids == ["a"]
    assert [line for line, _ in log.problems] == [3]


def test_missing_required_column(tmp_path):
    path = write(tmp_path / "log.csv", "case_id,activity\na,x\n")
    with pytest.raises(EventLogError, match="timestamp"):
        read_csv(path)


def test_gzip_csv_equals_plain(tmp_path):
    text = HEADER + "a,x,2024-01-01T00:00:00Z,,,5,\na,y,2024-01-02T00:00:00Z,,,5,\n"
    plain = read_event_log(write(tmp_path / "log.csv", text))
    packed = read_event_log(write(tmp_path / "log.csv.gz", text, gz=True))
    assert plain.cases == packed.cases and packed.n_events == 2


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <global scope="event"><string key="concept:name" value="DEFAULT"/></global>
  <trace>
    <string key="concept:name" value="c1"/>
    <string key="AMOUNT_REQ" value="15000"/>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <string key="org:resource" value="112"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.546+02:00"/>
      <list key="nested"><string key="concept:name" value="NOT_AN_ACTIVITY"/></list>
    </event>
    <event>
      <string key="concept:name" value="W_Call"/>
      <string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2011-10-01T09:00:00.000+02:00"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <date key="time:timestamp" value="2011-10-02T00:00:00.000+02:00"/>
    </event>
  </trace>
</log>
"""


def test_xes_parsing(tmp_path):
    log = read_xes(write(tmp_path / "log.xes", XES))
    assert log.case_ids == ["c1", "c2"]
    e0, e1 = log.cases[0].events
    assert (e0.activity, e0.lifecycle, e0.resource, e0.amount) == ("A_SUBMITTED", "COMPLETE", "112", 15000.0)
    assert e0.timestamp == datetime(2011, 9, 30, 22, 38, 44, 546000, tzinfo=timezone.utc)
    assert (e1.activity, e1.lifecycle, e1.resource) == ("W_Call", "START", "")
    assert log.cases[1].events[0].amount is None


def test_xes_gz_equals_plain_and_same_path_as_csv(tmp_path):
    plain = read_event_log(write(tmp_path / "log.xes", XES))
    packed = read_event_log(write(tmp_path / "log.xes.gz", XES, gz=True))
    assert plain.cases == packed.cases
    csv = read_csv(write(tmp_path / "log.csv", HEADER
                         + "c1,A_SUBMITTED,2011-10-01T00:38:44.546+02:00,COMPLETE,112,15000,\n"
                         + "c1,W_Call,2011-10-01T09:00:00.000+02:00,start,,15000,\n"
                         + "c2,A_SUBMITTED,2011-10-02T00:00:00.000+02:00,,,,\n"))
    assert csv.cases == plain.cases


def test_xes_entity_declaration_is_refused_not_expanded(tmp_path):
    evil = XES.replace('<log xes.version="1.0">',
                       '<!DOCTYPE log [<!ENTITY boom "EXPANDED_SECRET">]>\n<log xes.version="1.0">')
    evil = evil.replace('value="W_Call"', 'value="&boom;"')
    with pytest.raises(EventLogError) as info:
        read_xes(write(tmp_path / "evil.xes", evil))
    assert "entit" in str(info.value).lower()
    assert "EXPANDED_SECRET" not in str(info.value)


def test_xes_bad_timestamp_reports_event_line(tmp_path):
    bad = XES.replace("2011-10-01T09:00:00.000+02:00", "soon")
    with pytest.raises(EventLogError) as info:
        read_xes(write(tmp_path / "bad.xes", bad))
    event_line = bad.splitlines().index("    <event>", 12) + 1
    assert info.value.lines == [event_line]


def test_rows_from_crm_use_the_same_normalisation():
    t0 = datetime(2024, 3, 1, 9, 0)  # naive = UTC, as core stores it
    rows = [
        {"customer_id": 7, "type": "visit", "occurred_at": t0 + timedelta(days=1), "direction": "out",
         "amount": None, "node_key": "needs", "author_id": 3},
        {"customer_id": 7, "type": "call", "occurred_at": t0, "direction": "in", "amount": Decimal("99.50"),
         "node_key": None, "author_id": 3},
        {"customer_id": 8, "type": "call", "occurred_at": t0, "direction": None},
    ]
    log = from_rows(rows, node_order={"needs": 3})
    assert log.case_ids == ["7", "8"]
    call, visit = log.cases[0].events
    assert (call.activity, call.direction, call.amount, call.node_index) == ("call", "in", 99.5, None)
    assert (visit.activity, visit.node_index, visit.resource) == ("visit", 3, "3")
    assert call.timestamp.tzinfo == timezone.utc and call.timestamp.hour == 9


def test_rows_bad_values_report_row_numbers():
    rows = [
        {"customer_id": 1, "type": "call", "occurred_at": datetime(2024, 1, 1)},
        {"customer_id": 1, "type": "call", "occurred_at": None},
        {"customer_id": 1, "type": "call", "occurred_at": datetime(2024, 1, 1), "direction": "sideways"},
    ]
    with pytest.raises(EventLogError) as info:
        from_rows(rows)
    assert info.value.lines == [2, 3]


def test_labels_leave_out_empty_values(tmp_path):
    path = write(tmp_path / "labels.csv.gz", "case_id,label,other\na,1,x\nb,,x\nc,0,x\nd,true,x\n", gz=True)
    assert read_labels(path) == {"a": 1, "c": 0, "d": 1}


def test_labels_bad_value_and_missing_column(tmp_path):
    bad = write(tmp_path / "bad.csv", "case_id,won\na,1\nb,maybe\n")
    with pytest.raises(EventLogError) as info:
        read_labels(bad, label_column="won")
    assert info.value.lines == [3]
    with pytest.raises(EventLogError, match="label"):
        read_labels(bad)
