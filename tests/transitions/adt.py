"""Synthetic ADT messages and a world to send them into, for the transitions tests.

`build_adt(...)` writes an ER7 message (`\\r` separators) with the segments the
processor reads; `World` is a plan, a hospital sender registered with it, an
ECM provider with a lead care manager and a supervisor, and members; `send`
puts a message through the real intake (message_receive, as the HTTP channel
does) and runs the processor the way the worker does (message_process).
"""

import itertools
from dataclasses import dataclass, field

from calaim.accounts import roles
from care_plans.hl7.models import HL7Sender, InboundMessage
from care_plans.hl7.services import message_process, message_receive
from tests import factories

_control_ids = itertools.count(1)


def build_adt(
    trigger: str,
    *,
    facility: str = "MERCYGEN",
    control_id: str | None = None,
    version: str = "2.5.1",
    pid3: str = "91234567A^^^DHCS^MA",
    last_name: str = "TESTPERSON",
    first_name: str = "JANE",
    birth_date: str = "19800517",
    sex: str = "F",
    patient_class: str = "I",
    location: str = "4W^401^1^MERCY",
    admission_type: str = "E",
    visit_number: str = "V1001",
    disposition: str = "",
    admitted_at: str = "20261101080000",
    discharged_at: str = "",
    event_time: str = "",
    diagnoses: tuple = (),
    insurance: tuple = (),
    admit_reason: str = "",
    extra_segments: tuple = (),
) -> str:
    """One ADT message; every field can be set or emptied."""
    control_id = control_id or f"C{next(_control_ids):08d}"
    pv1 = ["PV1", "1", patient_class, location, admission_type]
    pv1 += [""] * 14 + [visit_number]  # PV1-5 .. PV1-18, then PV1-19
    pv1 += [""] * 16 + [disposition]  # PV1-20 .. PV1-35, then PV1-36
    pv1 += [""] * 7 + [admitted_at, discharged_at]  # PV1-37 .. 43, then 44, 45
    segments = [
        f"MSH|^~\\&|EHR|{facility}|CALAIM|PLAN|20261101080500||ADT^{trigger}^ADT_A01|"
        f"{control_id}|P|{version}",
        f"EVN|{trigger}|20261101080500||||{event_time}",
        f"PID|1||{pid3}||{last_name}^{first_name}||{birth_date}|{sex}",
        "|".join(pv1),
    ]
    if admit_reason:
        segments.append(f"PV2|||^{admit_reason}")
    for number, (code, text) in enumerate(diagnoses, start=1):
        segments.append(f"DG1|{number}||{code}^{text}^I10|||A")
    for number, (policy, insured_id) in enumerate(insurance, start=1):
        in1 = ["IN1", str(number)] + [""] * 34 + [policy]  # IN1-36
        in1 += [""] * 12 + [insured_id]  # IN1-37 .. 48, then IN1-49
        segments.append("|".join(in1))
    segments.extend(extra_segments)
    return "\r".join(segments) + "\r"


@dataclass
class World:
    plan: object
    hospital: object
    sender: HL7Sender
    provider: object
    lead: object
    supervisor: object
    colleague: object
    members: dict = field(default_factory=dict)

    def member(self, name="jane", *, cin="91234567A", episode=True, **fields):
        """A member of the plan (with an open episode led by `lead` unless not)."""
        fields.setdefault("first_name", "Jane")
        fields.setdefault("last_name", "Testperson")
        fields.setdefault("sex", "F")
        member = factories.MemberFactory(cin=cin, **fields)
        factories.EnrollmentFactory(member=member, plan=self.plan)
        if episode:
            factories.EpisodeFactory(
                member=member,
                plan=self.plan,
                ecm_provider=self.provider,
                lead_care_manager=self.lead,
            )
        self.members[name] = member
        return member


def make_world(*, facility="MERCYGEN", cin_authorities=()) -> World:
    plan = factories.OrganizationFactory(name="Transitions Plan", plan=True)
    hospital = factories.OrganizationFactory(name="Mercy General", hospital=True)
    provider = factories.OrganizationFactory(name="Harbor ECM", ecm=True)
    sender = HL7Sender.objects.create(
        organization=hospital,
        plan=plan,
        sending_facility=facility,
        allowed_addresses=["127.0.0.1"],
        cin_assigning_authorities=list(cin_authorities),
    )

    def person(email, role):
        return factories.UserFactory(
            email=email, organization=provider, roles=[role], full_name=email
        )

    return World(
        plan=plan,
        hospital=hospital,
        sender=sender,
        provider=provider,
        lead=person("lead@transitions.example", roles.CARE_MANAGER),
        supervisor=person("supervisor@transitions.example", roles.SUPERVISOR),
        colleague=person("colleague@transitions.example", roles.CARE_MANAGER),
    )


def receive(world: World, raw: str) -> InboundMessage | None:
    """Store the message through the real intake (the HTTP channel)."""
    receipt = message_receive(
        data=raw, channel="http", organization=world.hospital, publish=False
    )
    assert receipt.ack_code == "AA", receipt.ack
    return receipt.message


def send(world: World, raw: str) -> InboundMessage:
    """Receive and process a message as the worker would; return it refreshed."""
    message = receive(world, raw)
    assert message is not None, "a duplicate was sent"
    message_process(message_id=message.pk)
    message.refresh_from_db()
    return message
