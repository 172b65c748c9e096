"""Demo transitions of care: a few synthetic ADT messages from Mercy Bay Hospital.

Sent through the real intake and processor (as the HTTP channel would), for
San Diego demo members of Pacific Coast Health Plan:
- member 90000001D (led by the Harbor care manager): an inpatient admission for
  heart failure and its discharge two days ago: alerts, a high-risk follow-up
  due in 2 business days, a care plan review;
- member 90000005D (Harbor): an ED visit this morning, not yet acknowledged;
- member 90000003D (no lead care manager yet): an ED visit and member 90000009D
  a discharge, in the plan's transitional-care queue;
- one message for a patient nobody matches, in the unmatched queue.
Fixed control ids make a second run a set of duplicates that change nothing.
"""

from datetime import timedelta

from django.utils import timezone

from care_plans.hl7.models import HL7Sender, InboundMessage
from care_plans.hl7.services import message_process, message_receive
from members.services import member_by_cin

FACILITY = "MERCYBAY"  # when the hl7 seed has not registered Mercy Bay yet


def _ts(moment) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H%M%S")


def _adt(
    trigger, control_id, facility, *, cin, last, first, birth, sex, **visit
) -> str:
    pv1 = ["PV1", "1", visit.get("patient_class", "I"), visit.get("location", "")]
    pv1 += [visit.get("admission_type", "E")] + [""] * 14 + [visit["visit_number"]]
    pv1 += [""] * 16 + [visit.get("disposition", "")] + [""] * 7
    pv1 += [visit.get("admitted_at", ""), visit.get("discharged_at", "")]
    segments = [
        f"MSH|^~\\&|EHR|{facility}|CALAIM|PCHP|{_ts(timezone.now())}||ADT^{trigger}"
        f"|{control_id}|P|2.5.1",
        f"EVN|{trigger}|{_ts(timezone.now())}",
        f"PID|1||{cin}^^^DHCS^MA~MB{control_id[-4:]}^^^MERCYBAY^MR||{last}^{first}"
        f"||{birth:%Y%m%d}|{sex}",
        "|".join(pv1),
    ]
    for number, (code, text) in enumerate(visit.get("diagnoses", ()), start=1):
        segments.append(f"DG1|{number}||{code}^{text}^I10|||F")
    return "\r".join(segments) + "\r"


def _sender(organizations) -> HL7Sender:
    hospital = organizations["Mercy Bay Hospital"]
    plan = organizations["Pacific Coast Health Plan"]
    sender = HL7Sender.objects.filter(organization=hospital, plan=plan).first()
    if sender is None:
        sender, _ = HL7Sender.objects.get_or_create(
            sending_facility=FACILITY,
            defaults={
                "organization": hospital,
                "plan": plan,
                "allowed_addresses": ["127.0.0.1"],
                "cin_assigning_authorities": ["DHCS"],
            },
        )
    return sender


def seed(stdout, organizations, users):
    """Send the demo ADT messages (idempotent)."""
    facility = _sender(organizations).sending_facility
    hospital = organizations["Mercy Bay Hospital"]
    now = timezone.now()
    messages = []

    def person(cin):
        member = member_by_cin(cin)
        if member is None:
            return None
        return {
            "cin": member.cin,
            "last": member.last_name.upper(),
            "first": member.first_name.upper(),
            "birth": member.birth_date,
            "sex": member.sex,
        }

    admitted = now - timedelta(days=5)
    discharged = now - timedelta(days=2)
    heart_failure = [("I50.9", "Heart failure, unspecified")]
    for cin, trigger, number, visit in [
        ("90000001D", "A01", 1, {"admitted_at": _ts(admitted), "location": "3E^310"}),
        (
            "90000001D",
            "A03",
            2,
            {"discharged_at": _ts(discharged), "disposition": "01"},
        ),
        ("90000005D", "A04", 3, {"patient_class": "E", "location": "ED^12"}),
        ("90000003D", "A04", 4, {"patient_class": "E", "location": "ED^4"}),
        ("90000009D", "A03", 5, {"discharged_at": _ts(discharged)}),
    ]:
        who = person(cin)
        if who is None:
            continue
        visit.setdefault("visit_number", f"DEMO-{cin}")
        visit.setdefault("admitted_at", _ts(admitted))
        if cin == "90000001D":
            visit["diagnoses"] = heart_failure
        messages.append(
            _adt(trigger, f"DEMO-TOC-{number:04d}", facility, **who, **visit)
        )
    messages.append(
        _adt(
            "A01",
            "DEMO-TOC-0099",
            facility,
            cin="MB77",
            last="UNKNOWNPATIENT",
            first="DEMO",
            birth=(now - timedelta(days=365 * 40)).date(),
            sex="M",
            visit_number="DEMO-UNMATCHED",
            admitted_at=_ts(now - timedelta(hours=3)),
        )
    )
    for raw in messages:
        receipt = message_receive(
            data=raw, channel="http", organization=hospital, publish=False
        )
        if receipt.duplicate or receipt.message is None:
            continue
        message_process(message_id=receipt.message.pk)
    # The same line on every run (seed_demo's output is compared across runs).
    total = InboundMessage.objects.filter(
        sending_facility=facility, control_id__startswith="DEMO-TOC-"
    ).count()
    stdout.write(f"Transitions of care: {total} demo ADT messages from {facility}.")
