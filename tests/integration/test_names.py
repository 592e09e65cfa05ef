"""test_names.py: region and datasource names that no loaded trip uses
(sql/migrations/026_name_sweep.sql).  A runner adds a new name at once, in
autocommit (jobs/dimcache.c); when its job then fails, an idle runner's
sweep removes the name, so the reports answer 404 for it as for any
unknown name.  A runner forgets the ids it kept once a sweep removed
names, and a datasource id freed by a sweep is given again once the
smallint identity is used up.
"""
import os
import urllib.parse
import uuid

import harness
import test_runner as tr

SWEEP_SECONDS = 30      # an idle runner sweeps after each job, and every 5 s


def names(tag):
    """A region and a datasource name never seen, as long as "Prague" and
    "funny_car" (tr.GOOD's), so that a row keeps its length."""
    return ("R" + tag[:5]).encode(), ("d" + tag[:8]).encode()


def rows(region, datasource, n=3, tag=b"x"):
    row = tr.GOOD.replace(b"Prague", region).replace(b"funny_car", datasource)
    return tr.HEADER + b",tag\n" + (row + b"," + tag + b"\n") * n


def fail_with_names(stack, region, datasource):
    """A job that reads three rows naming region and datasource, then fails:
    its inbox file is swapped, after it was queued, for one of the same
    size with the new names, so the runner adds them, loads the rows and
    fails on the SHA-256 at the end."""
    name = "names-%s.csv" % uuid.uuid4().hex
    inbox = os.path.join(stack.var, "inbox")
    tag = uuid.uuid4().hex[:8].encode()
    stack.stop_runners()
    try:
        stack.write_inbox(name, rows(b"Prague", b"funny_car", tag=tag))
        job_id = tr.submit_inbox(stack, name)
        tmp = stack.write_inbox(name + ".tmp", rows(region, datasource, tag=tag))
        os.rename(tmp, os.path.join(inbox, name))
    finally:
        stack.start_runners(1)
    j = tr.wait_state(stack, job_id)
    assert j["state"] == "failed" and "changed after it was queued" in j["error"], j
    return job_id


def known(stack, table, name):
    return stack.scalar("SELECT count(*) FROM tripline.%s WHERE name = '%s'"
                        % (table, name.decode())) == "1"


def wait_gone(stack, table, name):
    stack.wait_scalar("SELECT count(*) FROM tripline.%s WHERE name = '%s'"
                      % (table, name.decode()), "0",
                      "%s %r of a failed job not removed" % (table, name), SWEEP_SECONDS)


def wait_swept(stack):
    """Until a sweep has run since the last name was added."""
    stack.wait_scalar("SELECT added FROM tripline.name_sweeps", "f",
                      "no sweep after names were added", SWEEP_SECONDS)


def status(stack, path):
    r = stack.http("GET", path)
    return r.status, r.json()


def regions_of(stack, datasource):
    return status(stack, "/api/reports/datasource-regions?datasource=" +
                  urllib.parse.quote(datasource.decode()))


def test_names_of_a_failed_job_removed(stack):
    """Before 026 the names stayed for good, and the reports answered 200
    with nothing for them."""
    region, ds = names(uuid.uuid4().hex)
    fail_with_names(stack, region, ds)
    wait_gone(stack, "datasources", ds)
    wait_gone(stack, "regions", region)
    st, body = regions_of(stack, ds)
    assert st == 404 and body["invalid_params"][0]["name"] == "datasource", (st, body)
    st, body = status(stack, "/api/reports/weekly-average?region=" + region.decode())
    assert st == 404 and body["invalid_params"][0]["name"] == "region", (st, body)

    # The names of a succeeded job stay, through later sweeps.
    keep_region, keep_ds = names(uuid.uuid4().hex)
    j = stack.load(rows(keep_region, keep_ds, tag=uuid.uuid4().hex.encode()))
    assert j["state"] == "succeeded", j
    fail_with_names(stack, *names(uuid.uuid4().hex))
    wait_swept(stack)
    assert known(stack, "regions", keep_region) and known(stack, "datasources", keep_ds)
    st, body = regions_of(stack, keep_ds)
    assert st == 200 and [(x["region"], x["trips"]) for x in body["regions"]] == \
        [(keep_region.decode(), 3)], (st, body)


def test_a_runner_forgets_the_ids_of_removed_names(stack):
    """One runner keeps the ids of a failed job's names in memory; a sweep
    removes the names; the same runner then loads rows with those names.
    Its kept ids are gone, so it must add the names again: with the old
    ids the trips would name no datasource and the report 404."""
    region, ds = names(uuid.uuid4().hex)
    fail_with_names(stack, region, ds)          # leaves one runner
    wait_gone(stack, "datasources", ds)
    wait_gone(stack, "regions", region)
    j = stack.load(rows(region, ds, tag=uuid.uuid4().hex.encode()))
    assert j["state"] == "succeeded" and j["rows_loaded"] == 3, j
    st, body = regions_of(stack, ds)
    assert st == 200 and [(x["region"], x["trips"]) for x in body["regions"]] == \
        [(region.decode(), 3)], (st, body)
    orphans = stack.scalar(
        "SELECT count(*) FROM tripline.region_datasources r WHERE NOT EXISTS "
        "(SELECT FROM tripline.datasources d WHERE d.id = r.datasource_id) OR NOT EXISTS "
        "(SELECT FROM tripline.regions g WHERE g.id = r.region_id)")
    assert orphans == "0", orphans


def test_names_sweep_waits_for_loads_and_unfinished_jobs(stack):
    """names_sweep() by hand, no runner running: it removes nothing while a
    load holds the names lock or a job is queued, and nothing when no name
    was added since the last sweep."""
    orphan = "orphan-%s" % uuid.uuid4().hex
    sweep = "SELECT tripline.names_sweep()"

    def as_runner(sql):
        return stack.scalar("SET ROLE tripline_runner; " + sql)

    stack.stop_runners()
    load = None
    job_id = None
    try:
        stack.psql("INSERT INTO tripline.datasources (name) VALUES ('%s'); "
                   "UPDATE tripline.name_sweeps SET added = true" % orphan)
        epoch = int(stack.scalar("SELECT epoch FROM tripline.name_sweeps"))
        load = harness.Psql(stack, "names-load")
        load.send("BEGIN; SET ROLE tripline_runner; SELECT tripline.names_hold();")
        load.wait_idle_in_transaction()
        assert as_runner(sweep) == "0"
        assert known(stack, "datasources", orphan.encode())
        load.close()
        load = None

        name = "names-queued-%s.csv" % uuid.uuid4().hex
        stack.write_inbox(name, rows(b"Prague", b"funny_car", tag=name.encode()))
        job_id = tr.submit_inbox(stack, name)
        assert tr.job_row(stack, job_id)["state"] == "queued"
        assert as_runner(sweep) == "0"
        assert known(stack, "datasources", orphan.encode())
        r = stack.http("POST", "/api/jobs/%d/cancel" % job_id, b"", stack.auth())
        assert r.status == 200, r
        job_id = None

        assert int(as_runner(sweep)) >= 1
        assert not known(stack, "datasources", orphan.encode())
        assert stack.scalar("SELECT added FROM tripline.name_sweeps") == "f"
        assert int(stack.scalar("SELECT epoch FROM tripline.name_sweeps")) == epoch + 1

        # No name added since: the sweep reads nothing and removes nothing.
        stack.psql("INSERT INTO tripline.datasources (name) VALUES ('%s')" % orphan)
        assert as_runner(sweep) == "0"
        assert known(stack, "datasources", orphan.encode())
    finally:
        if load is not None:
            load.quit()
        if job_id is not None:
            stack.http("POST", "/api/jobs/%d/cancel" % job_id, b"", stack.auth())
        stack.psql("UPDATE tripline.name_sweeps SET added = true")
        stack.start_runners(1)
    wait_gone(stack, "datasources", orphan.encode())


def test_datasource_ids_given_again_once_used_up(stack):
    """datasources.id is a smallint.  Once its identity is used up, a new
    name gets the lowest id a sweep freed (before 026: its rows were
    rejected "too many datasources" for good); with no id free, its rows
    are rejected so."""
    fillers = "filler-%s-" % uuid.uuid4().hex[:8]
    try:
        # A freed id: a failed job's name, removed.
        _, gone = names(uuid.uuid4().hex)
        fail_with_names(stack, b"Prague", gone)
        wait_gone(stack, "datasources", gone)
        stack.psql("ALTER TABLE tripline.datasources ALTER COLUMN id RESTART WITH 32767")
        _, last = names(uuid.uuid4().hex)
        j = stack.load(rows(b"Prague", last, tag=uuid.uuid4().hex.encode()))
        assert j["state"] == "succeeded" and j["rows_loaded"] == 3, j
        assert stack.scalar("SELECT id FROM tripline.datasources WHERE name = '%s'"
                            % last.decode()) == "32767"
        free = stack.scalar("SELECT min(g) FROM generate_series(1, 32767) g WHERE NOT EXISTS "
                            "(SELECT FROM tripline.datasources d WHERE d.id = g)")
        assert free is not None and int(free) < 32767, free

        _, again = names(uuid.uuid4().hex)
        j = stack.load(rows(b"Prague", again, tag=uuid.uuid4().hex.encode()))
        assert j["state"] == "succeeded" and j["rows_loaded"] == 3 and \
            j["rows_rejected"] == 0, j
        assert stack.scalar("SELECT id FROM tripline.datasources WHERE name = '%s'"
                            % again.decode()) == free
        st, body = regions_of(stack, again)
        assert st == 200 and body["regions"][0]["trips"] == 3, (st, body)

        # Every id taken: the rows of a new name are rejected, the job loads.
        # The sweep after `again` first: it would remove the unused fillers.
        wait_swept(stack)
        stack.psql("INSERT INTO tripline.datasources (id, name) SELECT g, '%s' || g "
                   "FROM generate_series(1, 32767) g WHERE NOT EXISTS "
                   "(SELECT FROM tripline.datasources d WHERE d.id = g)" % fillers)
        _, full = names(uuid.uuid4().hex)
        data = rows(b"Prague", full, n=2, tag=uuid.uuid4().hex.encode())
        data += tr.GOOD.replace(b"funny_car", last) + b",x\n"
        j = stack.load(data)
        assert j["state"] == "succeeded" and j["rows_loaded"] == 1 and \
            j["rows_rejected"] == 2, j
        reasons = stack.psql("SELECT line, reason FROM tripline.job_rejects WHERE job_id = %d "
                             "ORDER BY line" % j["id"])
        assert reasons == [("2", "too many datasources"), ("3", "too many datasources")], \
            reasons
    finally:
        stack.psql("DELETE FROM tripline.datasources WHERE name LIKE '%s%%'" % fillers)
        # Give ids after the highest below 32767 again, so that the next
        # new name collides neither with `again` nor with `last`.
        stack.psql("SELECT setval(pg_get_serial_sequence('tripline.datasources', 'id'), "
                   "(SELECT max(id) FROM tripline.datasources WHERE id < 32767))")


def test_a_load_waits_for_a_sweep_under_way(stack):
    """A load takes the names lock before its first name (names_hold): while
    a sweep holds it, the load waits, then goes on."""
    sweep = harness.Psql(stack, "names-sweep")
    try:
        sweep.send("BEGIN; SELECT pg_advisory_xact_lock(hashtext('tripline.names'));")
        sweep.wait_idle_in_transaction()
        job_id = tr.submit(stack, rows(b"Prague", b"funny_car", tag=uuid.uuid4().hex.encode()))
        stack.wait_scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' "
                          "AND usename = 'tripline_runner'", "1",
                          "the load did not wait for the sweep", 30)
        assert tr.job_row(stack, job_id)["state"] == "running"
        sweep.send("COMMIT;")
        sweep.close()
        sweep = None
    finally:
        if sweep is not None:
            sweep.quit()
    j = tr.wait_state(stack, job_id)
    assert j["state"] == "succeeded" and j["rows_loaded"] == 3, j


def test_a_load_without_the_sweep_row_says_why(stack):
    """The one row of name_sweeps deleted by hand: names_hold() answers
    NULL, and the job fails naming the table (it said "could not start: "
    and nothing, libpq having no error to give).  A sweep does nothing
    meanwhile (030_names_sweep_row.sql): it removed the unused names and
    raised no epoch, so runners kept ids of removed names."""
    orphan = "orphan-%s" % uuid.uuid4().hex
    epoch = int(stack.scalar("SELECT epoch FROM tripline.name_sweeps"))
    stack.stop_runners()
    try:
        stack.psql("INSERT INTO tripline.datasources (name) VALUES ('%s'); "
                   "DELETE FROM tripline.name_sweeps" % orphan)
        assert stack.scalar("SET ROLE tripline_runner; SELECT tripline.names_sweep()") == "0"
        assert known(stack, "datasources", orphan.encode())
        stack.start_runners(1)
        j = stack.load(rows(b"Prague", b"funny_car", tag=uuid.uuid4().hex.encode()))
        assert j["state"] == "failed" and \
            j["error"] == "could not start: tripline.name_sweeps has no row", j
    finally:
        # A raised epoch: a runner forgets whatever it kept meanwhile.
        stack.psql("INSERT INTO tripline.name_sweeps (epoch, added) VALUES (%d, true) "
                   "ON CONFLICT DO NOTHING" % (epoch + 1))
        stack.start_runners(1)
    j = stack.load(rows(b"Prague", b"funny_car", tag=uuid.uuid4().hex.encode()))
    assert j["state"] == "succeeded" and j["rows_loaded"] == 3, j
    wait_gone(stack, "datasources", orphan.encode())


def test_new_names_capped_per_load(stack):
    """TRIPLINE_MAX_NEW_NAMES: one load adds at most so many new region
    names, and so many datasource names; the rows of further new names are
    rejected with their line, the other rows load.  A name refused in one
    file is added by the next.  Without the cap, one file of 32,767 new
    datasource names takes every id for good (docs/security.md, gap 3)."""
    tag = uuid.uuid4().hex[:6]
    regions = [("R%s%d" % (tag, i)).encode() for i in range(5)]
    sources = [("d%s%d" % (tag, i)).encode() for i in range(5)]
    body = tr.HEADER + b"\n"
    for r in regions:                   # lines 2..6
        body += tr.GOOD.replace(b"Prague", r) + b"\n"
    for d in sources:                   # lines 7..11
        body += tr.GOOD.replace(b"funny_car", d) + b"\n"
    body += tr.GOOD.replace(b"Prague", regions[4]) + b"\n"      # line 12
    body += tr.GOOD.replace(b"funny_car", sources[1]) + b"\n"   # line 13
    # tr.GOOD's names are known before the cap, also on a stack of its own.
    j = stack.load(rows(b"Prague", b"funny_car", tag=tag.encode()))
    assert j["state"] == "succeeded", j
    stack.stop_runners()
    stack.env["TRIPLINE_MAX_NEW_NAMES"] = "3"
    try:
        stack.start_runners(1)
        j = stack.load(body)
        assert j["state"] == "succeeded" and j["rows_loaded"] == 7 and \
            j["rows_rejected"] == 5, j
        r = stack.http("GET", "/api/jobs/%d/rejects?limit=100" % j["id"])
        got = [(x["line"], x["reason"]) for x in r.json()["rejects"]]
        region, source = ("too many new %ss in one load (at most 3): send these rows in a file "
                          "of their own" % k
                          for k in ("region", "datasource"))
        assert got == [(5, region), (6, region), (10, source), (11, source),
                       (12, region)], got
        assert not known(stack, "regions", regions[3])
        assert not known(stack, "datasources", sources[4])

        # The next load has a cap of its own: the names refused above load.
        again = tr.HEADER + b"\n" + tr.GOOD.replace(b"Prague", regions[3]) + b"\n" + \
            tr.GOOD.replace(b"funny_car", sources[4]) + b"\n"
        j = stack.load(again)
        assert j["rows_loaded"] == 2, j
        assert known(stack, "regions", regions[3]) and known(stack, "datasources", sources[4])
    finally:
        stack.stop_runners()
        del stack.env["TRIPLINE_MAX_NEW_NAMES"]
        stack.start_runners(1)
