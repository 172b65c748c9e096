"""The 834 upload pages, through HTTP: upload, progress, outcome, issues CSV.

The upload is followed the way production runs it: the page stores the file and,
after commit, puts the import task on the broker (this run's Redis); the test
then plays the worker by running that task with the id from the message. One test
(`-m worker`) has a real Celery worker do it.
"""

import base64
import csv
import hashlib
import io
import json
import re

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calaim import celery_app
from calaim.accounts import roles
from calaim.audit.models import AuditEvent
from members.models import EnrollmentFile, EnrollmentFileIssue, Member
from members.services import enrollment_import, import_parsing
from members.services.enrollment_import import enrollment_file_receive
from members.tasks import import_enrollment_file
from members.x12 import synthetic
from tests import factories
from tests.support import workers

TASK_NAME = "members.tasks.import_enrollment_file"


def x12(members=10, **options) -> bytes:
    buffer = io.BytesIO()
    options.setdefault("interchange_control", 4100)
    synthetic.write_834(buffer, members, **options)
    return buffer.getvalue()


def upload(name="roster.x12", content=None):
    return SimpleUploadedFile(
        name, x12() if content is None else content, content_type="text/plain"
    )


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def plan(db, data_dir):
    return factories.OrganizationFactory(name="Upload Plan", plan=True)


@pytest.fixture
def plan_admin(plan):
    return factories.UserFactory(
        full_name="Pat Planadmin", organization=plan, roles=[roles.PLAN_ADMIN]
    )


@pytest.fixture
def admin_client(client, plan_admin):
    client.force_login(plan_admin)
    return client


@pytest.fixture
def broker():
    """This run's broker queue (Redis), emptied before and after the test."""
    connection_ = redis.Redis.from_url(celery_app.conf.broker_url)
    connection_.delete("celery")
    yield connection_
    connection_.delete("celery")


def queued_tasks(broker) -> list[tuple[str, list]]:
    """(task name, positional arguments) of every message waiting on the queue."""
    found = []
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        found.append((message["headers"]["task"], args))
    return found


def post_upload(client, file, django_capture_on_commit_callbacks, execute=True):
    with django_capture_on_commit_callbacks(execute=execute) as callbacks:
        response = client.post(reverse("enrollment_files"), {"file": file})
    return response, callbacks


def play_worker(broker):
    """Run every queued import as the worker would: the task, with the message's id."""
    ran = []
    for name, args in queued_tasks(broker):
        assert name == TASK_NAME
        import_enrollment_file(*args)
        ran.append(args[0])
    broker.delete("celery")
    return ran


def receive(plan, actor, content, name="roster.x12"):
    return enrollment_file_receive(
        plan=plan,
        source=io.BytesIO(content),
        original_name=name,
        actor=actor,
        queue=False,
    )


def summary(body) -> dict[str, str]:
    table = re.search(r'<table[^>]*id="import-summary".*?</table>', body, re.S)
    assert table, "no summary table"
    rows = re.findall(r"<th[^>]*>([^<]+)</th><td[^>]*>([^<]+)</td>", table.group(0))
    return dict(rows)


def body_of(response) -> str:
    return response.content.decode()


# --- Upload ----------------------------------------------------------------------


def test_upload_stores_the_file_and_queues_its_import_after_commit(
    admin_client, plan, plan_admin, broker, django_capture_on_commit_callbacks
):
    content = x12(12)
    response, callbacks = post_upload(
        admin_client,
        upload("dhcs-2026-11.x12", content),
        django_capture_on_commit_callbacks,
        execute=False,
    )

    received = EnrollmentFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "enrollment_file_detail", args=[received.uuid]
    )
    assert received.status == EnrollmentFile.Status.RECEIVED
    assert (received.plan, received.uploaded_by) == (plan, plan_admin)
    assert received.original_name == "dhcs-2026-11.x12"
    assert received.sha256 == hashlib.sha256(content).hexdigest()
    with open(received.stored_path, "rb") as stored:
        assert stored.read() == content
    # Nothing goes to the broker before the commit; one import task after it.
    assert len(callbacks) == 1
    assert queued_tasks(broker) == []
    callbacks[0]()
    assert queued_tasks(broker) == [(TASK_NAME, [received.pk])]


def test_the_queued_task_imports_the_file_and_the_page_shows_the_outcome(
    admin_client, broker, django_capture_on_commit_callbacks
):
    response, _ = post_upload(
        admin_client,
        upload(content=x12(10, bad={2: "short_cin", 5: "county"})),
        django_capture_on_commit_callbacks,
    )
    received = EnrollmentFile.objects.get()
    assert play_worker(broker) == [received.pk]

    page = admin_client.get(response["Location"])

    body = body_of(page)
    received.refresh_from_db()
    assert received.status == EnrollmentFile.Status.DONE
    assert summary(body) | {"Duration": "-"} == {
        "Added": "8",
        "Changed": "0",
        "Terminated": "0",
        "Reinstated": "0",
        "Unchanged": "0",
        "Rejected": "2",
        "Repeated in the file": "0",
        "Missing from the roster": "0",
        "Duration": "-",
    }
    assert re.search(r"<dd>\d+\.\d s</dd>|<td[^>]*>\d+\.\d s</td>", body)
    assert "Imported</span>" in body
    assert "4100" in body  # the interchange control number
    assert "Change (update)" in body  # BGN08 2
    assert 'hx-trigger="every 2s"' not in body
    issues = re.search(r'<table[^>]*id="import-issues".*?</table>', body, re.S)
    assert issues.group(0).count("<tr>") == 3  # the header and two rejects
    assert "county" in issues.group(0)


def test_a_file_rejected_whole_shows_why(
    admin_client, broker, django_capture_on_commit_callbacks
):
    response, _ = post_upload(
        admin_client,
        upload(content=x12(5, defect="se_count")),
        django_capture_on_commit_callbacks,
    )
    play_worker(broker)

    body = body_of(admin_client.get(response["Location"]))

    received = EnrollmentFile.objects.get()
    assert received.status == EnrollmentFile.Status.REJECTED
    assert "The whole file was rejected; nothing was imported." in body
    assert received.error
    assert received.error in body
    assert Member.objects.count() == 0


def test_repeated_records_are_counted_and_only_the_first_100_issues_are_listed(
    admin_client, broker, django_capture_on_commit_callbacks
):
    response, _ = post_upload(
        admin_client,
        upload(content=x12(60, repeat=3)),
        django_capture_on_commit_callbacks,
    )
    play_worker(broker)

    body = body_of(admin_client.get(response["Location"]))

    assert summary(body)["Added"] == "60"
    assert summary(body)["Repeated in the file"] == "120"
    assert "The first 100 of 120 issues." in body
    issues = re.search(r'<table[^>]*id="import-issues".*?</table>', body, re.S)
    assert issues.group(0).count("<tr>") == 101


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (None, "Choose an 834 file to upload."),
        (SimpleUploadedFile("empty.x12", b""), "The file is empty."),
        (
            SimpleUploadedFile("roster.csv", b"CIN,LAST,FIRST\n91234567A,Doe,Jo\n"),
            "This is not an X12 file: an 834 starts with an ISA segment.",
        ),
    ],
    ids=["no-file", "empty", "not-x12"],
)
def test_a_bad_upload_gets_a_clear_error_and_stores_nothing(
    admin_client, data_dir, broker, django_capture_on_commit_callbacks, file, message
):
    data = {} if file is None else {"file": file}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(reverse("enrollment_files"), data)

    assert response.status_code == 400
    assert message in body_of(response)
    assert 'class="form-control is-invalid"' in body_of(response)
    assert not EnrollmentFile.objects.exists()
    assert callbacks == []
    assert queued_tasks(broker) == []
    assert not list((data_dir / "uploads" / "834").glob("*"))


def test_a_file_over_the_size_limit_is_refused(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_834_MAX_BYTES = 1000
    response, callbacks = post_upload(
        admin_client, upload(content=x12(10)), django_capture_on_commit_callbacks
    )
    assert response.status_code == 400
    assert "the limit is 1000\xa0bytes" in body_of(response)
    assert not EnrollmentFile.objects.exists()
    assert callbacks == []


def test_a_byte_order_mark_before_the_isa_is_accepted(
    admin_client, broker, django_capture_on_commit_callbacks
):
    response, _ = post_upload(
        admin_client,
        upload(content=b"\xef\xbb\xbf" + x12(3)),
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    play_worker(broker)
    assert EnrollmentFile.objects.get().status == EnrollmentFile.Status.DONE


def test_uploading_the_same_bytes_again_says_when_they_were_imported(
    admin_client, plan, plan_admin, broker, django_capture_on_commit_callbacks
):
    content = x12(4)
    other_plan = factories.OrganizationFactory(plan=True)
    other_admin = factories.UserFactory(
        organization=other_plan, roles=[roles.PLAN_ADMIN]
    )
    receive(other_plan, other_admin, content)  # another plan's copy is not news
    post_upload(
        admin_client, upload(content=content), django_capture_on_commit_callbacks
    )
    play_worker(broker)
    first = EnrollmentFile.objects.get(plan=plan)
    first_page = body_of(
        admin_client.get(reverse("enrollment_file_detail", args=[first.uuid]))
    )
    assert "same sha256" not in first_page

    response, _ = post_upload(
        admin_client, upload(content=content), django_capture_on_commit_callbacks
    )
    play_worker(broker)

    body = body_of(admin_client.get(response["Location"]))
    assert EnrollmentFile.objects.filter(plan=plan).count() == 2
    notice = re.search(r'<div[^>]*id="same-file-notice".*?</div>', body, re.S)
    assert notice, "no notice about the earlier copy"
    assert "This file (same sha256) was already imported on" in notice.group(0)
    assert reverse("enrollment_file_detail", args=[first.uuid]) in notice.group(0)
    # Shown in the plan's time zone: after 16:00 in California it is already
    # the next day in UTC.
    shown = timezone.localtime(first.received_at).strftime("%Y-%m-%d %H:%M")
    assert shown in notice.group(0)
    assert summary(body)["Unchanged"] == "4"


# --- Progress ---------------------------------------------------------------------


def test_the_progress_partial_polls_in_the_background_until_the_import_ends(
    admin_client, plan_admin, monkeypatch
):
    enrollment_file = receive(plan_admin.organization, plan_admin, x12(30))
    url = reverse("enrollment_file_progress", args=[enrollment_file.uuid])
    background = {"HTTP_HX_REQUEST": "true", "HTTP_X_CALAIM_BACKGROUND": "1"}

    waiting = body_of(admin_client.get(url, **background))
    assert 'role="progressbar"' in waiting
    assert 'aria-valuenow="0"' in waiting
    assert 'hx-trigger="every 2s"' in waiting
    assert """hx-headers='{"X-Calaim-Background": "1"}'""" in waiting
    assert f'hx-get="{url}"' in waiting
    assert "Waiting for the importer" in waiting

    # Play the worker in batches of 10, asking for the bar after each batch.
    monkeypatch.setattr(import_parsing, "BATCH_SIZE", 10)
    during = []
    enrollment_import.enrollment_file_import(
        enrollment_file=enrollment_file,
        actor=plan_admin,
        progress=lambda done, total: during.append(
            body_of(admin_client.get(url, **background))
        ),
    )

    assert [re.search(r'aria-valuenow="(\d+)"', b).group(1) for b in during] == [
        "33",
        "66",
        "100",
    ]
    assert all('hx-trigger="every 2s"' in b for b in during)
    assert "Importing: 10 of 30 records." in during[0]
    finished = body_of(admin_client.get(url, **background))
    assert "hx-trigger" not in finished
    assert "hx-get" not in finished
    assert summary(finished)["Added"] == "30"


def test_the_detail_page_embeds_the_poller_while_the_file_waits(
    admin_client, plan_admin
):
    enrollment_file = receive(plan_admin.organization, plan_admin, x12(3))
    body = body_of(
        admin_client.get(reverse("enrollment_file_detail", args=[enrollment_file.uuid]))
    )
    assert 'hx-trigger="every 2s"' in body
    assert 'role="progressbar"' in body
    assert "Received</span>" in body
    assert 'id="import-issues"' not in body


# --- Issues CSV ---------------------------------------------------------------------


def test_the_issues_csv_streams_every_issue_and_is_audited_as_an_export(
    admin_client, plan, plan_admin
):
    done = enrollment_import.enrollment_file_import(
        enrollment_file=receive(plan, plan_admin, x12(8)), actor=plan_admin
    )
    assert done.added == 8
    # The next file breaks two known members' records and repeats one.
    second = receive(
        plan,
        plan_admin,
        x12(8, interchange_control=4101, maintenance="001", changes={1, 4, 6},
            bad={1: "county", 4: "dtp_date"}),
    )  # fmt: skip
    enrollment_import.enrollment_file_import(enrollment_file=second, actor=plan_admin)
    second.refresh_from_db()
    assert second.rejected == 2
    expected_cins = {synthetic.cin_for(1), synthetic.cin_for(4)}
    expected_members = sorted(
        Member.objects.filter(cin__in=expected_cins).values_list("pk", flat=True)
    )
    assert len(expected_members) == 2

    response = admin_client.get(
        reverse("enrollment_file_issues_csv", args=[second.uuid])
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="834-issues-{second.uuid}.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["kind", "segment_number", "segment", "cin", "reason"]
    issues = EnrollmentFileIssue.objects.filter(file=second).order_by(
        "segment_number", "id"
    )
    assert rows[1:] == [
        [i.kind, str(i.segment_number), i.segment, i.cin, i.reason] for i in issues
    ]
    assert {row[3] for row in rows[1:]} == expected_cins
    assert {row[0] for row in rows[1:]} == {"rejected"}
    event = AuditEvent.objects.filter(action="export").get()
    assert event.object_type == "enrollment_file_issues"
    assert event.object_id == str(second.uuid)
    assert event.member_ids == expected_members
    assert event.actor_id == plan_admin.pk


def test_viewing_the_issues_records_the_members_they_name(
    admin_client, plan, plan_admin
):
    enrollment_import.enrollment_file_import(
        enrollment_file=receive(plan, plan_admin, x12(5)), actor=plan_admin
    )
    second = receive(
        plan, plan_admin, x12(5, interchange_control=4102, bad={3: "county"})
    )
    enrollment_import.enrollment_file_import(enrollment_file=second, actor=plan_admin)

    admin_client.get(reverse("enrollment_file_detail", args=[second.uuid]))

    event = AuditEvent.objects.filter(object_type="enrollment_file").get()
    assert event.action == "view"
    assert event.member_ids == [Member.objects.get(cin=synthetic.cin_for(3)).pk]


# --- Access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        "enrollment_file_detail",
        "enrollment_file_progress",
        "enrollment_file_issues_csv",
    ],
)
def test_another_plans_admin_gets_404_for_a_file(client, plan, plan_admin, route):
    enrollment_file = receive(plan, plan_admin, x12(3))
    other_admin = factories.UserFactory(
        organization=factories.OrganizationFactory(plan=True), roles=[roles.PLAN_ADMIN]
    )
    client.force_login(other_admin)

    response = client.get(reverse(route, args=[enrollment_file.uuid]))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


def test_a_care_manager_gets_403_on_the_list_and_404_on_a_file(
    client, plan, plan_admin
):
    enrollment_file = receive(plan, plan_admin, x12(3))
    care_manager = factories.UserFactory(roles=[roles.CARE_MANAGER])
    client.force_login(care_manager)

    assert client.get(reverse("enrollment_files")).status_code == 403
    response = client.post(reverse("enrollment_files"), {"file": upload()})
    assert response.status_code == 403
    assert EnrollmentFile.objects.count() == 1
    detail = reverse("enrollment_file_detail", args=[enrollment_file.uuid])
    assert client.get(detail).status_code == 404


def test_the_navigation_links_plan_admins_to_their_files(client, plan_admin):
    client.force_login(plan_admin)
    body = body_of(client.get(reverse("home")))
    assert f'href="{reverse("enrollment_files")}">Enrollment files</a>' in body

    client.force_login(factories.UserFactory(roles=[roles.CARE_MANAGER]))
    assert "Enrollment files" not in body_of(client.get(reverse("home")))


# --- The list ------------------------------------------------------------------------


def test_the_list_shows_only_the_plans_files_newest_first(
    admin_client, plan, plan_admin
):
    older = receive(plan, plan_admin, x12(2), name="october.x12")
    newer = receive(plan, plan_admin, x12(3), name="november.x12")
    other_plan = factories.OrganizationFactory(plan=True)
    receive(
        other_plan,
        factories.UserFactory(organization=other_plan, roles=[roles.PLAN_ADMIN]),
        x12(2),
        name="someone-elses.x12",
    )

    body = body_of(admin_client.get(reverse("enrollment_files")))

    assert body.index("november.x12") < body.index("october.x12")
    assert "someone-elses.x12" not in body
    assert reverse("enrollment_file_detail", args=[older.uuid]) in body
    assert reverse("enrollment_file_detail", args=[newer.uuid]) in body
    assert 'enctype="multipart/form-data"' in body
    assert "Up to 200.0\xa0MB." in body


def test_the_list_pages_backwards_by_key(admin_client, plan, plan_admin):
    files = [receive(plan, plan_admin, x12(1), name=f"f{n:02d}.x12") for n in range(27)]

    first = body_of(admin_client.get(reverse("enrollment_files")))
    assert first.count('<a href="/members/imports/') == 25
    assert "f26.x12" in first
    assert "f02.x12" in first
    assert "f01.x12" not in first
    older = re.search(r'href="\?before=(\d+)"', first)
    assert older
    assert int(older.group(1)) == files[2].pk

    second = body_of(
        admin_client.get(reverse("enrollment_files"), {"before": older.group(1)})
    )
    assert second.count('<a href="/members/imports/') == 2
    assert "f01.x12" in second
    assert "f00.x12" in second
    assert "?before=" not in second


def test_the_list_query_count_does_not_grow_with_files(
    admin_client, plan, plan_admin, django_assert_num_queries
):
    uploaders = [
        factories.UserFactory(organization=plan, roles=[roles.PLAN_ADMIN])
        for _ in range(3)
    ]
    receive(plan, plan_admin, x12(1))
    admin_client.get(reverse("enrollment_files"))  # saves the idle clock
    with CaptureQueriesContext(connection) as one:
        admin_client.get(reverse("enrollment_files"))
    for number in range(20):
        receive(plan, uploaders[number % 3], x12(1))

    # One query for the page of files (uploaders joined in); the rest belongs to
    # the shell (session, user, permissions, navigation), pinned by the one-file
    # page.
    with django_assert_num_queries(len(one)) as many:
        response = admin_client.get(reverse("enrollment_files"))
    assert body_of(response).count('<a href="/members/imports/') == 21
    sql = [query["sql"] for query in many.captured_queries]
    assert sum('FROM "members_enrollmentfile"' in query for query in sql) == 1


# --- A real worker ------------------------------------------------------------------

redis_server = workers.redis_server
app_broker = workers.app_broker
processes = workers.processes


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_imports_an_uploaded_file(client, settings, tmp_path, processes):
    settings.DATA_DIR = tmp_path / "data"
    plan = factories.OrganizationFactory(name="Worker Plan", plan=True)
    admin = factories.UserFactory(organization=plan, roles=[roles.PLAN_ADMIN])
    client.force_login(admin)
    processes.start_worker(include=())

    response = client.post(
        reverse("enrollment_files"), {"file": upload(content=x12(25, bad={7: "sex"}))}
    )

    assert response.status_code == 302
    received = EnrollmentFile.objects.get()

    def finished():
        received.refresh_from_db()
        return received.status not in ("received", "importing")

    workers.wait_until(
        finished, timeout=60, what=f"the worker imports the file\n{processes.logs()}"
    )
    assert received.status == EnrollmentFile.Status.DONE, received.error
    assert (received.added, received.rejected) == (24, 1)
    assert Member.objects.count() == 24
    progress = body_of(
        client.get(
            reverse("enrollment_file_progress", args=[received.uuid]),
            HTTP_X_CALAIM_BACKGROUND="1",
        )
    )
    assert "hx-trigger" not in progress
    assert summary(progress)["Added"] == "24"
