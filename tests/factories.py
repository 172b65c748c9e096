"""factory_boy factories: synthetic people and organizations only."""

import itertools
from datetime import date

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from calaim.accounts.models import County, Organization, User
from calaim.validators import npi_check_digit
from care_plans.models import Episode
from members.models import Enrollment, Member, MemberCin
from referrals.models import Referral

PASSWORD = "a-long-test-password-1"
_npi_numbers = itertools.count(100000000)


def _npi(_):
    stem = str(next(_npi_numbers) + 100000000)[:9]
    return stem + npi_check_digit(stem)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    npi = factory.LazyAttribute(_npi)
    tin = factory.Sequence(lambda n: f"95-{n:07d}")

    class Params:
        plan = factory.Trait(is_plan=True)
        ecm = factory.Trait(is_ecm_provider=True)
        cs = factory.Trait(is_cs_provider=True)
        hospital = factory.Trait(is_hospital=True)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    organization = factory.SubFactory(OrganizationFactory, ecm=True)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member
        skip_postgeneration_save = True

    cin = factory.Sequence(lambda n: f"9{n:07d}A")
    first_name = factory.Sequence(lambda n: f"Synthetic{n}")
    last_name = "Testperson"
    birth_date = date(1980, 5, 17)

    @factory.post_generation
    def cin_history(self, create, extracted, **kwargs):
        if create:
            MemberCin.objects.create(cin=self.cin, member=self, source="factory")


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    member = factory.SubFactory(MemberFactory)
    plan = factory.SubFactory(OrganizationFactory, plan=True)
    county = factory.LazyFunction(lambda: County.objects.get(code="37"))
    start_date = date(2025, 1, 1)


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    member = factory.SubFactory(MemberFactory)
    ecm_provider = factory.SubFactory(OrganizationFactory, ecm=True)
    status = Episode.Status.ENROLLED
    opened_at = factory.LazyFunction(timezone.now)
    enrolled_on = factory.LazyFunction(timezone.localdate)


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    member = factory.SubFactory(MemberFactory)
    receiving_organization = factory.SubFactory(OrganizationFactory, cs=True)
    status = Referral.Status.REQUESTED


class HL7SenderFactory(factory.django.DjangoModelFactory):
    """A hospital's sending facility registered with a plan (care_plans.hl7)."""

    class Meta:
        model = "hl7.HL7Sender"

    organization = factory.SubFactory(OrganizationFactory, hospital=True)
    plan = factory.SubFactory(OrganizationFactory, plan=True)
    sending_facility = factory.Sequence(lambda n: f"FACILITY{n}")
    allowed_addresses = factory.LazyFunction(lambda: ["127.0.0.1"])
    cin_assigning_authorities = factory.LazyFunction(list)
    active = True


class InboundMessageFactory(factory.django.DjangoModelFactory):
    """A stored ADT message (raw ER7 with `\\r` separators), pending by default."""

    class Meta:
        model = "hl7.InboundMessage"

    sender = factory.SubFactory(HL7SenderFactory)
    sending_facility = factory.LazyAttribute(lambda o: o.sender.sending_facility)
    control_id = factory.Sequence(lambda n: f"CTRL{n:06d}")
    message_type = "ADT"
    trigger = "A01"
    version = "2.5.1"
    channel = "mllp"
    peer = "127.0.0.1"
    raw = factory.LazyAttribute(
        lambda o: (
            f"MSH|^~\\&|EHR|{o.sending_facility}|CALAIM|PLAN|20261130101500||"
            f"ADT^{o.trigger}^ADT_A01|{o.control_id}|P|{o.version}\r"
            f"EVN|{o.trigger}|20261130101500\r"
            "PID|1||91234567A^^^DHCS^MA||TESTPERSON^ALEX||19800101|F\r"
            "PV1|1|I|4W^401^1||||||||||||||||V0001\r"
        )
    )
    ack_code = "AA"
    status = "pending"


class ConsentFactory(factory.django.DjangoModelFactory):
    """A 42 CFR Part 2 consent attested verbally, in effect from today for a year.

    `ConsentFactory(member=..., recipients=[organization])` names recipients.
    Tests of the rules use members.services.consents instead.
    """

    class Meta:
        model = "members.Consent"
        skip_postgeneration_save = True

    member = factory.SubFactory(MemberFactory)
    kind = "part2"
    scope_categories = factory.LazyFunction(lambda: ["substance_use"])
    purpose = "Care coordination"
    start_date = factory.LazyFunction(timezone.localdate)
    end_date = factory.LazyFunction(
        lambda: date.fromordinal(timezone.localdate().toordinal() + 365)
    )
    recorded_by = factory.SubFactory(UserFactory)
    attested_by = factory.SelfAttribute("recorded_by")
    attested_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def recipients(self, create, extracted, **kwargs):
        if create and extracted:
            self.recipient_organizations.set(extracted)


class OfferFactory(factory.django.DjangoModelFactory):
    """A live offer of a referral to a CS provider (referrals.Offer)."""

    class Meta:
        model = "referrals.Offer"

    referral = factory.SubFactory(ReferralFactory)
    provider = factory.SelfAttribute("referral.receiving_organization")
    status = "offered"
    offered_at = factory.LazyFunction(timezone.now)
