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
