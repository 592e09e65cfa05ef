"""test_hostile_csv.py: hostile CSV files end as loaded rows plus rejected
rows with reasons, or as a clear job failure; never a crash, and the
runner's memory stays bounded (docs/security.md).

Every case is one file with the exact outcome it must have: the job's
state, the rows loaded, and for each rejected row its line and a piece of
its reason; or the job's error.  For every succeeded case the invariants
are checked too: loaded + rejected equals the records in the file, the
trips table holds exactly the loaded rows, job_rejects exactly the
rejected ones, each with a non-empty reason.

Each file carries an extra `tag` column (ignored by the loader) holding a
value unique to the run, so no case is a duplicate of an earlier file.
"""
import json
import os
import re
import urllib.parse
import uuid

import harness

HEADER = b"region,origin_coord,destination_coord,datetime,datasource"
O = b"POINT (14.4973794438195 50.00136875782316)"
D = b"POINT (14.43109483523328 50.04052930943246)"
T = b"2018-05-28 09:03:40"


def row(region=b"Prague", o=O, d=D, t=T, ds=b"funny_car"):
    return b",".join((region, o, d, t, ds))


GOOD = row()


def tagged(lines, tag, eol=b"\n", final=True):
    """The lines with a tag column; the first is the header."""
    out = [lines[0] + b",tag"] + [ln + b"," + tag for ln in lines[1:]]
    return eol.join(out) + (eol if final else b"")


def run_case(stack, data, name):
    r = stack.upload(data, kind="raw", filename=urllib.parse.quote(name + ".csv"))
    assert r.status == 202, (name, r)
    job_id = r.json()["id"]
    j = stack.wait_job(job_id, timeout=120)
    rejects = stack.psql("SELECT line, reason FROM tripline.job_rejects WHERE job_id = %d "
                         "ORDER BY line" % job_id)
    trips = int(stack.scalar("SELECT count(*) FROM tripline.trips WHERE job_id = %d" % job_id))
    return j, {int(a): b for a, b in rejects}, trips


def expect(stack, name, data, loaded=None, rejects=None, error=None):
    """Run one case.  rejects: {line: piece of the reason}.  error: piece
    of a failed job's error."""
    j, got, trips = run_case(stack, data, name)
    if error is not None:
        assert j["state"] == "failed", (name, j)
        assert j["error"] and error in j["error"], (name, error, j["error"])
        assert trips == 0 and got == {}, (name, trips, got)
        return j
    assert j["state"] == "succeeded", (name, j)
    assert j["rows_loaded"] == loaded, (name, loaded, j)
    assert trips == loaded, (name, trips, loaded)
    assert j["rows_rejected"] == len(got), (name, j, got)
    assert sorted(got) == sorted(rejects), (name, "reject lines", sorted(got), sorted(rejects))
    for line, piece in rejects.items():
        assert got[line] and piece in got[line], (name, line, piece, got[line])
    return j


# -- cases -------------------------------------------------------------------

def test_csv_line_endings_and_bom(stack):
    tag = uuid.uuid4().hex.encode()
    lines = [HEADER] + [GOOD] * 5
    expect(stack, "crlf", tagged(lines, tag + b"1", eol=b"\r\n"), loaded=5, rejects={})
    expect(stack, "bom", b"\xef\xbb\xbf" + tagged(lines, tag + b"2"), loaded=5, rejects={})
    expect(stack, "bom, crlf, no final line end",
           b"\xef\xbb\xbf" + tagged(lines, tag + b"3", eol=b"\r\n", final=False),
           loaded=5, rejects={})
    # A byte order mark anywhere but the start is data: the header's first
    # name is then not "region".
    expect(stack, "bom twice", b"\xef\xbb\xbf\xef\xbb\xbf" + tagged(lines, tag + b"5"),
           error="not a trips CSV")
    # Two files joined: the second's mark starts a line, in its region.
    # It was loaded as a region of its own that every report shows as
    # "Prague".
    expect(stack, "bom inside", tagged([HEADER, GOOD, b"\xef\xbb\xbf" + GOOD, GOOD],
                                       tag + b"7"),
           loaded=2, rejects={3: "region: contains a byte order mark (U+FEFF)"})
    # Blank lines are skipped but counted: line numbers stay physical.
    expect(stack, "blank lines", tagged([HEADER, GOOD, b"", GOOD, b"", row(t=b"x")],
                                        tag + b"6").replace(b"\n," + tag + b"6", b"\n"),
           loaded=2, rejects={6: "datetime"})


def test_csv_bare_cr_line_ends(stack):
    """Old Mac line ends (bare CR): RFC 4180 and the reader end lines at LF
    or CRLF only, so the whole file is one line; it must not pass as a
    header with extra columns and end "succeeded" with its rows neither
    loaded nor rejected."""
    tag = uuid.uuid4().hex.encode()
    data = tagged([HEADER] + [GOOD] * 5, tag, eol=b"\r")
    j, got, trips = run_case(stack, data, "bare CR line ends")
    assert j["state"] == "failed", j
    assert "not a trips CSV" in j["error"] and "bare CR" in j["error"], j
    assert trips == 0, j


def test_csv_quotes_across_lines(stack):
    """No field of a trips row holds a line break, so a quote open at the
    end of a line rejects that line alone (lib/csvstream.h); the next line
    is a record of its own."""
    tag = uuid.uuid4().hex.encode()
    lines = [
        HEADER,
        b'"Prague","' + O + b'","' + D + b'","' + T + b'","funny_car"',   # 2 good, all quoted
        b'"Pra\ngue",' + O + b"," + D + b"," + T + b",funny_car",          # 3-4 newline in a name
        GOOD,                                                              # 5 good
        b'"a""b",' + O + b"," + D + b"," + T + b",funny_car",              # 6 good: a"b
        b'Prague,' + O + b"," + D + b",\"" + T + b'",' + b'"funny\r\ncar"',  # 7-8 CRLF in a name
        b'Pra"gue,' + O + b"," + D + b"," + T + b",funny_car",             # 9 quote inside
        b'"Prague"x,' + O + b"," + D + b"," + T + b",funny_car",           # 10 text after quote
        GOOD,                                                              # 11 good
    ]
    expect(stack, "quotes", tagged(lines, tag), loaded=4,
           rejects={3: "unterminated quote", 4: "misplaced quote",
                    7: "unterminated quote", 8: "misplaced quote",
                    9: "misplaced quote", 10: "misplaced quote"})
    # An unterminated quote at the end of the file.
    expect(stack, "unterminated quote at the end",
           tagged([HEADER, GOOD, b'"Prague,' + O], tag + b"x"), loaded=1,
           rejects={3: "unterminated quote"})
    # A quoted header that spans two lines is not a header.
    expect(stack, "header across lines", tagged([b'"region\n",origin_coord,destination_coord,'
                                                 b"datetime,datasource", GOOD], tag + b"y"),
           error="not a trips CSV")


def test_csv_stray_quote_keeps_later_rows(stack):
    """A stray opening quote never closed on its line costs that line
    alone: the good rows after it load, whether or not a later line holds
    a quote that would have closed it (RFC 4180 would read on to there,
    or to the end of the file, and lose every row in between)."""
    tag = uuid.uuid4().hex.encode()
    stray = b'Prague,"' + O + b"," + D + b"," + T + b",cheap_mobile"
    quoted = b'"Prague","' + O + b'",' + D + b"," + T + b',"funny_car"'
    for name, later in (("no later quote", GOOD), ("a later quote", quoted)):
        t = tag + name[0:1].encode()
        lines = [HEADER, GOOD, GOOD, stray, GOOD, later, GOOD, GOOD]
        j = expect(stack, "stray quote, " + name, tagged(lines, t), loaded=6,
                   rejects={4: "unterminated quote"})
        r = stack.http("GET", "/api/jobs/%d/rejects" % j["id"])
        assert r.status == 200, r
        assert r.json()["rejects"] == [{"line": 4, "reason": "unterminated quote",
                                        "raw": (stray + b"," + t).decode()}], r.json()
    # The same with CRLF line ends and the stray line last, without one.
    expect(stack, "stray quote, crlf",
           tagged([HEADER, GOOD, stray, GOOD, stray], tag + b"c", eol=b"\r\n", final=False),
           loaded=2, rejects={3: "unterminated quote", 5: "unterminated quote"})


def test_csv_nul_and_encoding(stack):
    tag = uuid.uuid4().hex.encode()
    lines = [
        HEADER,
        b"Pra\x00gue," + O + b"," + D + b"," + T + b",funny_car",          # 2 NUL in a name
        row(o=b"POINT (14.4\x00 50.0)"),                                   # 3 NUL in a number
        row(t=b"2018-05-28\x0009:03:40"),                                  # 4 NUL in the date
        row(ds=b"\xff\xfefunny"),                                          # 5 not UTF-8
        row(region=b"Pr\xc3\xa1ha"),                                       # 6 good: Praha
        row(region=b"\xed\xa0\x80x"),                                      # 7 a surrogate
        row(region=b"\xc0\xafx"),                                          # 8 overlong "/"
        row(region=b"x" * 129),                                            # 9 name too long
        row(region=b"   "),                                                # 10 blank name
        GOOD,                                                              # 11
    ]
    expect(stack, "nul and encoding", tagged(lines, tag), loaded=2,
           rejects={2: "region", 3: "origin_coord", 4: "datetime", 5: "datasource",
                    7: "region: not valid UTF-8", 8: "region: not valid UTF-8",
                    9: "region: longer than 128", 10: "region: empty"})
    expect(stack, "nul in the header", tagged([b"reg\x00ion" + HEADER[6:], GOOD], tag + b"h"),
           error="not a trips CSV: the first line holds NUL bytes: not UTF-8 text")
    expect(stack, "binary", os.urandom(3000).replace(b"\n", b"") + b"\n" + GOOD + b"\n",
           error="not a trips CSV")
    expect(stack, "UTF-16", tagged([HEADER, GOOD], tag + b"u").decode().encode("utf-16"),
           error="not a trips CSV: the file is UTF-16 text; save it as UTF-8")


def test_csv_unicode_text(stack):
    """A file saved as "Unicode text" is UTF-16 (Excel's: little-endian with
    a byte order mark, tab-separated, CRLF; iconv -t utf-16: LF, the
    separators kept).  Read as UTF-8 its header has a NUL after every
    letter and a CR before a NUL: it fails saying it is UTF-16, not that
    its header holds a line break or a misplaced quote."""
    tag = uuid.uuid4().hex.encode()
    text = tagged([HEADER, GOOD, row(region="Plzeň".encode())], tag).decode()
    excel = "\ufeff" + text.replace(",", "\t").replace("\n", "\r\n")
    utf16 = "not a trips CSV: the file is UTF-16 text; save it as UTF-8"
    no_bom = ("not a trips CSV: the file looks like UTF-16 text without a byte order "
              "mark; save it as UTF-8")
    for name, data, error in (
            ("iconv -t utf-16", text.encode("utf-16"), utf16),
            ("UTF-16LE, CRLF", "\ufeff".encode("utf-16-le")
             + text.replace("\n", "\r\n").encode("utf-16-le"), utf16),
            ("UTF-16BE", "\ufeff".encode("utf-16-be") + text.encode("utf-16-be"), utf16),
            ("Excel Unicode text", excel.encode("utf-16-le"), utf16),
            ("quoted, UTF-16", ("\ufeff" + text.replace(",", '","')).encode("utf-16-le"),
             utf16),
            ("UTF-16LE, no BOM", text.encode("utf-16-le"), no_bom),
            ("UTF-16BE, no BOM", text.encode("utf-16-be"), no_bom),
            ("UTF-32", text.encode("utf-32"),
             "not a trips CSV: the file is UTF-32 text; save it as UTF-8")):
        expect(stack, name, data, error=error)


def test_csv_reject_text_shown(stack):
    """A reject's reason and raw text are shown as they are, in the page
    and in the API's JSON: a DEL (drawn as nothing), a bidi override (an
    RLO turns the rest of the line round, UAX #9) and a line separator (a
    line break, UAX #14) come out as U+FFFD, in the quoted value and in
    the raw text."""
    tag = uuid.uuid4().hex.encode()
    rlo_date = b"\xe2\x80\xae" + T[::-1]
    lines = [
        HEADER,
        row(t=rlo_date),                                                   # 2 RLO in a date
        row(region=b"Pra\x7fgue"),                                         # 3 DEL in a name
        row(t=T + b"\xe2\x81\xa6"),                                        # 4 LRI after a date
        row(region=b"Pra\xe2\x80\xaegue"),                                 # 5 RLO in a name
        row(region=b"Pra\xe2\x80\xa8gue"),                                 # 6 LS in a name
    ]
    j = expect(stack, "reject text shown", tagged(lines, tag), loaded=0,
               rejects={2: "datetime", 3: "region", 4: "datetime", 5: "region",
                        6: "region"})
    r = stack.http("GET", "/api/jobs/%d/rejects" % j["id"])
    assert r.status == 200, r
    got = {x["line"]: (x["reason"], x["raw"]) for x in r.json()["rejects"]}
    rev = "\ufffd" + T[::-1].decode()
    t = T.decode()
    suffix = "," + tag.decode()
    assert got[2] == ('datetime: expected YYYY-MM-DD HH:MM:SS: "%s"' % rev,
                      row(t=b"").decode().replace(",,", "," + rev + ",") + suffix), got[2]
    assert got[3] == ('region: contains a NUL or control character: "Pra\ufffdgue"',
                      "Pra\ufffdgue" + GOOD[6:].decode() + suffix), got[3]
    assert got[4] == ('datetime: expected YYYY-MM-DD HH:MM:SS: "%s\ufffd"' % t,
                      GOOD.decode().replace(t, t + "\ufffd") + suffix), got[4]
    assert got[5][0] == 'region: contains a bidirectional control character: "Pra\ufffdgue"', \
        got[5]
    assert got[6] == ('region: contains a line or paragraph separator: "Pra\ufffdgue"',
                      "Pra\ufffdgue" + GOOD[6:].decode() + suffix), got[6]
    for reason, raw in got.values():
        for c in "\x7f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029":
            assert c not in reason and c not in raw, (c, reason, raw)


def test_csv_long_lines(stack):
    tag = uuid.uuid4().hex.encode()
    mb = 1 << 20
    lines = [
        HEADER,
        GOOD,                                                              # 2
        b"x" * mb,                                                         # 3 1 MiB, no quote
        GOOD,                                                              # 4
        b'"' + b"y" * mb + b'",' + O + b"," + D + b"," + T + b",ds",       # 5 1 MiB quoted
        GOOD,                                                              # 6
        row(region=b"z" * 65000),                                          # 7 just under 64 KiB
        GOOD,                                                              # 8
    ]
    expect(stack, "1 MiB lines", tagged(lines, tag), loaded=4,
           rejects={3: "line longer than 64 KiB", 5: "line longer than 64 KiB",
                    7: "region: longer than 128"})
    expect(stack, "1 MiB header", tagged([b"a" * mb, GOOD], tag + b"h"),
           error="first line longer than 64 KiB")


def test_csv_columns(stack):
    tag = uuid.uuid4().hex.encode()
    lines = [
        HEADER,
        GOOD,                                                              # 2
        b"Prague," + O + b"," + D + b"," + T,                              # 3 one missing
        GOOD + b",extra",                                                  # 4 one extra
        b",,,,",                                                           # 5 all empty
        b"Prague",                                                         # 6 one field
        b"," * 40,                                                         # 7 many empty
        GOOD,                                                              # 8
    ]
    expect(stack, "missing and extra", tagged(lines, tag), loaded=2,
           rejects={3: "expected 6 fields, got 5", 4: "expected 6 fields, got 7",
                    5: "region: empty", 6: "expected 6 fields, got 2",
                    7: "expected 6 fields, got 42"})
    expect(stack, "missing header column",
           tagged([b"region,origin_coord,destination_coord,datetime", GOOD], tag + b"m"),
           error='missing column "datasource"')
    expect(stack, "duplicate header column", tagged([HEADER + b",region", GOOD + b",x"],
                                                    tag + b"d"),
           error='duplicate column "region"')
    expect(stack, "header only", tagged([HEADER], tag + b"o"), loaded=0, rejects={})


def test_csv_not_a_header(stack):
    """A first line that is no header is quoted in the job's error (a tab
    replaced, a quote escaped, cut after 60 bytes: lib/safetext.h); one
    that names columns once split on semicolons (Excel where the comma is
    the decimal mark) or tabs says so."""
    tag = uuid.uuid4().hex.encode()
    names = "region, origin_coord, destination_coord, datetime, datasource"

    def quoted(line):
        out, cut = "", False
        for ch in line.decode():
            shown = "\ufffd" if ch == "\t" else "\\" + ch if ch in '"\\' else ch
            if len((out + shown).encode()) > 60:
                cut = True
                break
            out += shown
        return '"%s%s"' % (out, "..." if cut else "")

    def sep(first, what):
        return ("not a trips CSV: the header %s is separated by %s; columns must be "
                "separated by commas" % (quoted(first), what))

    semi = HEADER.replace(b",", b";") + b";tag"
    data = b"\r\n".join((semi, GOOD.replace(b",", b";") + b";" + tag)) + b"\r\n"
    expect(stack, "semicolons", data, error=sep(semi, "semicolons"))
    semi_q = b";".join(b'"' + n + b'"' for n in semi.split(b";"))
    expect(stack, "semicolons, quoted", semi_q + b"\n" + GOOD + b"," + tag + b"q\n",
           error=sep(semi_q, "semicolons"))
    short = b"region;origin_coord;datetime;datasource"
    expect(stack, "semicolons, a column short", short + b"\n" + tag + b"s\n",
           error=sep(short, "semicolons"))
    tabs = HEADER.replace(b",", b"\t") + b"\ttag"
    expect(stack, "tabs", tabs + b"\n" + GOOD.replace(b",", b"\t") + b"\t" + tag + b"\n",
           error=sep(tabs, "tabs"))
    first = GOOD + b"," + tag
    expect(stack, "no header", first + b"\n" + first + b"\n",
           error="not a trips CSV: the first line %s is not a header: it must name %s"
                 % (quoted(first), names))
    expect(stack, "a word", b"trips\n" + first + b"\n",
           error='not a trips CSV: the first line "trips" is not a header: it must name '
                 + names)
    # Unchanged: a header that names some columns says which are wrong.
    expect(stack, "missing column, semicolon inside",
           tagged([b"region,origin_coord;destination_coord,datetime,datasource", GOOD],
                  tag + b"m"),
           error='not a trips CSV: missing column "origin_coord" in header')


def test_csv_header_in_another_order(stack):
    tag = uuid.uuid4().hex.encode()
    region = b"Order-" + tag[:8]
    lines = [b" Datasource ,DATETIME,\tdestination_coord,Region,origin_coord",
             b"funny_car," + T + b"," + D + b"," + region + b"," + O]
    j = expect(stack, "reordered header", tagged(lines, tag), loaded=1, rejects={})
    got = stack.psql("SELECT r.name, d.name, t.origin_lon, t.origin_lat, t.dest_lon, t.dest_lat, "
                     "t.ts FROM tripline.trips t JOIN tripline.regions r ON r.id = t.region_id "
                     "JOIN tripline.datasources d ON d.id = t.datasource_id "
                     "WHERE t.job_id = %d" % j["id"])
    assert got == [(region.decode(), "funny_car", "14.4973794438195", "50.00136875782316",
                    "14.43109483523328", "50.04052930943246", "2018-05-28 09:03:40")], got


def test_csv_coordinates(stack):
    tag = uuid.uuid4().hex.encode()
    bad = [b"POINT (180.0000001 50)", b"POINT (-180.0000001 50)", b"POINT (14 90.0000001)",
           b"POINT (14 -91)", b"POINT (NaN 50)", b"POINT (nan nan)", b"POINT (inf 50)",
           b"POINT (14 -Infinity)", b"POINT (1e400 50)", b"POINT (0x1p3 50)",
           b"POINT (14 50 3)", b"POINT EMPTY", b"POINT Z (14 50 3)", b"POINT(14 50",
           b"14 50", b'"POINT (14,50)"', b"POINT (14  50)x", b"POINT ()", b"POINT (- 50)",
           b"POINT (14 50" + b"0" * 400 + b")"]
    good = [b"POINT (180 90)", b"POINT (-180 -90)", b"POINT (0 0)", b"POINT (-0 -0)",
            b"POINT (1e1 5E1)", b"point (14 50)"]
    lines = [HEADER]
    rejects = {}
    for b in bad:
        lines.append(row(o=b))
        rejects[len(lines)] = "origin_coord"
        lines.append(row(d=b))
        rejects[len(lines)] = "destination_coord"
    for g in good:
        lines.append(row(o=g, d=g))
    expect(stack, "coordinates", tagged(lines, tag), loaded=len(good), rejects=rejects)


def test_csv_dates(stack):
    """Each bad datetime is rejected with what is wrong and, for a text
    not of the form, the form expected."""
    tag = uuid.uuid4().hex.encode()
    form = "expected YYYY-MM-DD HH:MM:SS"
    zone = "a time zone is not accepted, expected YYYY-MM-DD HH:MM:SS"
    date = "no such date"
    time = "time not between 00:00:00 and 23:59:59"
    year = "year not between 1900 and 2100"
    bad = [(b"2018-02-29 10:00:00", date), (b"2019-02-29 10:00:00", date),
           (b"1900-02-29 10:00:00", date), (b"2018-04-31 10:00:00", date),
           (b"2018-13-01 10:00:00", date), (b"2018-00-10 10:00:00", date),
           (b"2018-05-00 10:00:00", date), (b"2018-05-28 24:00:00", time),
           (b"2018-05-28 23:60:00", time), (b"2018-05-28 23:59:60", time),
           (b"2018-05-28", form), (b"2018-05-28 9:03:40", form),
           (b"18-05-28 09:03:40", form), (b"1899-12-31 23:59:59", year),
           (b"2101-01-01 00:00:00", year), (b"2018-05-28 09:03:40Z", zone),
           (b"2018-05-28 09:03:40+02:00", zone), (b"2019-03-04 08:00:00 UTC", zone),
           (b"2018-05-28 09:03:40.1234567", "expected at most 6 digits after the seconds"),
           (b"now", form), (b"-2018-05-28 09:03:40", form), (b"2018-05-28  09:03:40", form),
           (b"99999-05-28 09:03:40", form), (b"08/03/2019 08:00", form),
           (b"28.05.2018 09:03:40", form)]
    good = [b"2020-02-29 10:00:00", b"2000-02-29 00:00:00", b"1900-01-01 00:00:00",
            b"2100-12-31 23:59:59", b"2018-05-28T09:03:40", b"2018-05-28 09:03:40.5"]
    lines = [HEADER]
    rejects = {}
    for b, what in bad:
        lines.append(row(t=b))
        rejects[len(lines)] = 'datetime: %s: "%s"' % (what, b.decode())
    for g in good:
        lines.append(row(t=g))
    j = expect(stack, "dates", tagged(lines, tag), loaded=len(good), rejects=rejects)
    r = stack.http("GET", "/api/jobs/%d/rejects" % j["id"])
    assert r.status == 200, r
    got = {x["line"]: x["reason"] for x in r.json()["rejects"]}
    assert got == rejects, (got, rejects)


# -- memory ------------------------------------------------------------------

def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def test_csv_unterminated_quote_then_50mb(stack):
    """An unterminated quote followed by ~50 MB: the line with the quote
    is rejected and every line after it loads; the runner's peak memory
    stays bounded."""
    # A fresh runner, so its peak is this file's.
    stack.stop_runners()
    stack.start_runners(1)
    pid = stack.pid("runner-1")
    assert pid is not None
    tag = uuid.uuid4().hex.encode()
    line = GOOD + b"," + tag
    n = (50 << 20) // (len(line) + 1)
    before = vm_hwm_kib(pid)
    name = "quote-%s.csv" % tag.decode()
    path = os.path.join(stack.var, "inbox", name)
    with open(path, "wb") as f:
        f.write(HEADER + b",tag\n")
        f.write(GOOD + b"," + tag + b"\n")                   # line 2
        f.write(b'"Prague,' + O + b"," + D + b"," + T + b",funny_car," + tag + b"\n")  # 3
        chunk = (line + b"\n") * 10000
        for _ in range(n // 10000):
            f.write(chunk)
    total = 2 + (n // 10000) * 10000
    st = os.stat(os.path.join(stack.var, "inbox"))
    os.chown(path, st.st_uid, st.st_gid)
    size = os.path.getsize(path)
    r = stack.http("POST", "/api/jobs", json.dumps({"path": name}).encode(),
                   stack.auth({"Content-Type": "application/json"}))
    assert r.status == 202, r
    j = stack.wait_job(r.json()["id"], timeout=300)
    os.unlink(path)
    after = vm_hwm_kib(pid)
    print("unterminated quote: %d bytes, %d loaded, %d rejected, runner VmHWM %d -> %d KiB"
          % (size, j["rows_loaded"], j["rows_rejected"], before, after))
    assert j["state"] == "succeeded", j
    rej = stack.psql("SELECT line, reason FROM tripline.job_rejects WHERE job_id = %d "
                     "ORDER BY line" % j["id"])
    # The quote costs its own line and no other.
    assert rej == [("3", "unterminated quote")], rej
    assert j["rows_rejected"] == 1 and j["rows_loaded"] == total - 1, (j, total)
    # A fresh sanitizer build peaks near 20 MiB here; holding the 50 MB
    # after the quote (or any copy of the file) would be far above this.
    assert after < 48 * 1024, (before, after)


def test_csv_audit_ingest(stack):
    """Defects found by the ingest audit, each once through the whole
    path: a leading '+' on a coordinate is OGC 06-103r4 WKT and loads; a
    C1 control in a name is a control character; spaces around a quoted
    name do not make a region of their own; a coordinate over 64 bytes is
    said to be too long, not "not a finite decimal number"; a file cut inside a
    quoted last field rejects that row instead of loading the cut value."""
    tag = uuid.uuid4().hex.encode()
    region = b"Audit-" + tag[:8]
    lines = [
        HEADER,
        row(region=region, o=b"POINT (+14.5 +50.25)"),                     # 2 good
        row(region=b"Pra\xc2\x85gue"),                                     # 3 C1 NEL
        row(ds=b"funny\xc2\x9fcar"),                                       # 4 C1 APC
        row(region=b'"  ' + region + b'\t"'),                               # 5 good, same region
        row(o=b"POINT (14." + b"4" * 62 + b" 50)"),                        # 6 65 bytes
        GOOD,                                                              # 7 good
        None,                                                              # 8 cut
    ]
    # The file ends inside the quoted last field of line 8 (its tag column
    # comes before it, so the quote is the last field).
    data = tagged(lines[:-1], tag) + b",".join((b"Prague", O, D, T, tag, b'"funny_c'))
    j = expect(stack, "audit", data, loaded=3,
               rejects={3: "region: contains a NUL or control character",
                        4: "datasource: contains a NUL or control character",
                        6: "origin_coord: number longer than 64 characters",
                        8: "unterminated quote"})
    got = stack.psql("SELECT r.name, t.origin_lon, t.origin_lat FROM tripline.trips t "
                     "JOIN tripline.regions r ON r.id = t.region_id "
                     "WHERE t.job_id = %d AND r.name LIKE 'Audit-%%' ORDER BY 2" % j["id"])
    assert got == [(region.decode(), "14.4973794438195", "50.00136875782316"),
                   (region.decode(), "14.5", "50.25")], got
    assert int(stack.scalar("SELECT count(*) FROM tripline.regions WHERE name LIKE '%%%s%%'"
                            % tag[:8].decode())) == 1
