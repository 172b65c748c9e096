"""Demo data: synthetic organizations, one user per role, synthetic members.

Safe to run twice: everything is looked up by a natural key before it is created.
No real person is in here: names come from a fixed synthetic list, CINs are made
up, NPIs are generated to pass the check digit only.
"""

import random
from datetime import date, timedelta

from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from calaim.accounts import roles
from calaim.accounts.models import ApiClient, County, Organization, PlanCode, User
from calaim.accounts.services import api_client_create, user_create
from calaim.validators import npi_check_digit
from care_plans.models import Episode
from care_plans.services import episode_identify
from community_supports.models import ProviderContract
from demo import (
    seed_assessments,
    seed_care_plans,
    seed_consents,
    seed_cs_network,
    seed_hl7,
    seed_referrals,
    seed_transitions,
)
from members.models import Enrollment
from members.services import member_by_cin, member_create
from referrals.models import Referral

DEMO_PASSWORD = "demo-password-2026"

ORGANIZATIONS = [
    # name, capabilities, NPI stem, counties, plan codes {county: code}
    ("Pacific Coast Health Plan", {"is_plan"}, "160000001", ["37", "19"],
     {"37": "170", "19": "171"}),
    ("Golden Valley Health", {"is_plan"}, "160000002", ["19"], {"19": "305"}),
    ("Harbor Community Care", {"is_ecm_provider", "is_cs_provider"}, "160000003",
     ["37"], {}),
    ("Sunrise ECM Partners", {"is_ecm_provider"}, "160000004", ["19"], {}),
    ("Open Door Housing Services", {"is_cs_provider"}, "160000005", ["37", "19"], {}),
    ("Good Food Medically Tailored Meals", {"is_cs_provider"}, "160000006", ["37"], {}),
    ("Mercy Bay Hospital", {"is_hospital"}, "160000007", ["37"], {}),
    ("Valley General Hospital", {"is_hospital"}, "160000008", ["19"], {}),
]  # fmt: skip

USERS = [
    # e-mail, name, organization, roles
    ("care.manager@harbor.example", "Carmen Reyes", "Harbor Community Care",
     [roles.CARE_MANAGER]),
    ("colleague@harbor.example", "Devon Price", "Harbor Community Care",
     [roles.CARE_MANAGER]),
    ("supervisor@harbor.example", "Sam Okafor", "Harbor Community Care",
     [roles.SUPERVISOR]),
    ("admin@harbor.example", "Lee Nakamura", "Harbor Community Care",
     [roles.PROVIDER_ADMIN]),
    ("care.manager@sunrise.example", "Jordan Patel", "Sunrise ECM Partners",
     [roles.CARE_MANAGER]),
    ("supervisor@sunrise.example", "Riley Chen", "Sunrise ECM Partners",
     [roles.SUPERVISOR]),
    ("plan.admin@pacificcoast.example", "Morgan Diaz", "Pacific Coast Health Plan",
     [roles.PLAN_ADMIN]),
    ("interfaces@pacificcoast.example", "Quinn Alvarez", "Pacific Coast Health Plan",
     [roles.INTERFACE_ADMIN]),
    ("privacy@pacificcoast.example", "Avery Brooks", "Pacific Coast Health Plan",
     [roles.AUDITOR]),
    ("plan.admin@goldenvalley.example", "Taylor Kim", "Golden Valley Health",
     [roles.PLAN_ADMIN]),
    ("staff@opendoor.example", "Casey Morgan", "Open Door Housing Services",
     [roles.CS_PROVIDER]),
    ("staff@goodfood.example", "Jamie Flores", "Good Food Medically Tailored Meals",
     [roles.CS_PROVIDER]),
]  # fmt: skip

API_CLIENTS = [
    # organization, role, scopes: one OAuth2 client per provider and hospital.
    ("Harbor Community Care", roles.PROVIDER_API,
     ["members:read", "ecm:write", "referrals:write"]),
    ("Sunrise ECM Partners", roles.PROVIDER_API, ["members:read", "ecm:write"]),
    ("Open Door Housing Services", roles.PROVIDER_API,
     ["members:read", "referrals:write"]),
    ("Good Food Medically Tailored Meals", roles.PROVIDER_API,
     ["members:read", "referrals:write"]),
    ("Mercy Bay Hospital", roles.HOSPITAL_FEED, ["hl7:write"]),
    ("Valley General Hospital", roles.HOSPITAL_FEED, ["hl7:write"]),
]  # fmt: skip

FIRST_NAMES = ["Alex", "Blair", "Cameron", "Dana", "Emery", "Finley", "Harper",
               "Jesse", "Kendall", "Logan", "Marlow", "Noel", "Oakley", "Parker",
               "Reese", "Rowan", "Sage", "Skyler", "Tatum", "Wren"]  # fmt: skip
LAST_NAMES = ["Testperson", "Sampleton", "Demoura", "Fictivo", "Placeholder",
              "Synthetica", "Mockford", "Exemplar", "Madeup", "Notreal"]  # fmt: skip


class Command(BaseCommand):
    help = "Load synthetic demo data (idempotent) and print the demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=40)
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args, members, quiet, **options):
        organizations = self._organizations()
        users = self._users(organizations)
        self._contracts(organizations)
        self._members(organizations, users, members)
        seed_consents.seed(self.stdout, organizations, users)
        seed_assessments.seed(self.stdout, organizations, users)
        seed_care_plans.seed(self.stdout, organizations, users)
        seed_cs_network.seed(self.stdout, organizations, users)
        seed_hl7.seed(self.stdout, organizations, users)
        seed_transitions.seed(self.stdout, organizations, users)
        seed_referrals.seed(self.stdout, organizations, users)
        clients = self._api_clients(organizations)
        superuser = User.objects.filter(email="admin@calaim.example").first()
        if superuser is None:
            User.objects.create_superuser(
                email="admin@calaim.example",
                password=DEMO_PASSWORD,
                full_name="Site Administrator",
            )
        if not quiet:
            self._print_accounts(users)
            self._print_api_clients(clients)

    def _organizations(self):
        organizations = {}
        counties = {county.code: county for county in County.objects.all()}
        for name, capabilities, npi_stem, county_codes, plan_codes in ORGANIZATIONS:
            flags = {
                flag: flag in capabilities
                for flag in (
                    "is_plan",
                    "is_ecm_provider",
                    "is_cs_provider",
                    "is_hospital",
                )
            }
            organization, _ = Organization.objects.get_or_create(
                name=name,
                defaults={
                    **flags,
                    "npi": npi_stem + npi_check_digit(npi_stem),
                    "tin": f"95-{npi_stem[-7:]}",
                    "phone": "(555) 010-0" + npi_stem[-3:],
                },
            )
            organization.counties.add(*[counties[code] for code in county_codes])
            for county_code, code in plan_codes.items():
                PlanCode.objects.get_or_create(
                    plan=organization,
                    county=counties[county_code],
                    defaults={"code": code},
                )
            organizations[name] = organization
        return organizations

    def _contracts(self, organizations):
        """ECM contracts: Pacific Coast with Harbor (San Diego) and Sunrise (Los
        Angeles); Golden Valley with Sunrise (Los Angeles)."""
        for plan, provider, county, presumptive in [
            ("Pacific Coast Health Plan", "Harbor Community Care", "37", True),
            ("Pacific Coast Health Plan", "Sunrise ECM Partners", "19", False),
            ("Golden Valley Health", "Sunrise ECM Partners", "19", False),
        ]:
            contract, created = ProviderContract.objects.get_or_create(
                plan=organizations[plan],
                provider=organizations[provider],
                service=ProviderContract.Service.ECM,
                defaults={
                    "start_date": date(2024, 1, 1),
                    "capacity": 500,
                    "may_presumptively_authorize": presumptive,
                },
            )
            if created:
                contract.counties.add(county)

    def _users(self, organizations):
        users = {}
        for email, full_name, organization_name, role_names in USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = user_create(
                    email=email,
                    full_name=full_name,
                    organization=organizations[organization_name],
                    role_names=role_names,
                    password=DEMO_PASSWORD,
                    phone="(555) 010-1000",
                )
            users[email] = user
        return users

    def _api_clients(self, organizations):
        """One client per demo provider and hospital, with a fixed id and secret
        derived from the organization's name: the toolkit keeps only a hash of
        the secret, so a fixed one is what lets a re-run print it again. Demo
        data only: real clients get random secrets from api_client_create."""
        clients = []
        for organization_name, role_name, scopes in API_CLIENTS:
            slug = "-".join(organization_name.lower().split())
            client_id, secret = f"demo-{slug}", f"demo-secret-{slug}"
            client = ApiClient.objects.filter(client_id=client_id).first()
            if client is None:
                kind = "HL7 feed" if role_name == roles.HOSPITAL_FEED else "system"
                client, _ = api_client_create(
                    organization=organizations[organization_name],
                    role_name=role_name,
                    name=f"{organization_name} {kind}",
                    scopes=scopes,
                    client_id=client_id,
                    client_secret=secret,
                )
            if not check_password(secret, client.client_secret):
                secret = "(changed since seeding; not shown)"
            clients.append((client, secret, organization_name))
        return clients

    def _members(self, organizations, users, count):
        generator = random.Random(2026)  # the same synthetic people every run
        today = timezone.localdate()
        pacific = organizations["Pacific Coast Health Plan"]
        golden = organizations["Golden Valley Health"]
        harbor = organizations["Harbor Community Care"]
        sunrise = organizations["Sunrise ECM Partners"]
        open_door = organizations["Open Door Housing Services"]
        san_diego = County.objects.get(code="37")
        los_angeles = County.objects.get(code="19")
        harbor_lcm = users["care.manager@harbor.example"]
        sunrise_lcm = users["care.manager@sunrise.example"]
        for number in range(1, count + 1):
            cin = f"9{number:07d}D"
            first = FIRST_NAMES[number % len(FIRST_NAMES)]
            last = LAST_NAMES[number % len(LAST_NAMES)]
            birth = date(1950, 1, 1) + timedelta(days=generator.randrange(0, 365 * 60))
            if member_by_cin(cin) is not None:
                continue
            in_san_diego = number % 2 == 1
            member = member_create(
                cin=cin,
                first_name=first,
                last_name=last,
                birth_date=birth,
                sex="FMU"[number % 3],
                preferred_language=("SPA", "ENG", "VIE", "TGL")[number % 4],
                phone=f"(555) 01{number % 10}-{number:04d}",
                address_line1=f"{100 + number} Example Street",
                city="San Diego" if in_san_diego else "Los Angeles",
                state="CA",
                zip_code="92101" if in_san_diego else "90012",
                county=san_diego if in_san_diego else los_angeles,
                is_homeless=number % 7 == 0,
                source="seed_demo",
            )
            plan = pacific if in_san_diego or number % 4 == 0 else golden
            Enrollment.objects.create(
                member=member,
                plan=plan,
                county=san_diego if in_san_diego else los_angeles,
                start_date=date(today.year - 1, 1, 1),
            )
            if number % 3 != 0:  # two in three are in ECM
                opened = timezone.now() - timedelta(days=number * 3)
                Episode.objects.create(
                    member=member,
                    plan=plan,
                    ecm_provider=harbor if in_san_diego else sunrise,
                    lead_care_manager=harbor_lcm if in_san_diego else sunrise_lcm,
                    status=Episode.Status.ENROLLED,
                    opened_at=opened,
                    authorized_from=opened.date(),
                    authorized_through=opened.date() + timedelta(days=365),
                    authorization_number=f"ECM-{number:05d}",
                    assigned_at=opened,
                    enrolled_on=opened.date(),
                    consent_method="verbal",
                )
            elif plan == pacific:  # waiting in the plan's authorization queue
                episode_identify(
                    member=member,
                    source=Episode.Source.PLAN_DATA,
                    actor=users["plan.admin@pacificcoast.example"],
                    urgency="expedited" if number % 2 else "standard",
                )
            if number % 5 == 0:
                Referral.objects.create(
                    member=member,
                    receiving_organization=open_door,
                    status=Referral.Status.REQUESTED,
                )

    def _print_accounts(self, users):
        write = self.stdout.write
        write(f"\nDemo accounts (password for all: {DEMO_PASSWORD})\n")
        for email, _name, organization_name, role_names in USERS:
            write(f"  {email:<36} {', '.join(role_names):<16} {organization_name}")
        write(f"  {'admin@calaim.example':<36} {'superuser':<16} (Django admin)")

    def _print_api_clients(self, clients):
        write = self.stdout.write
        write("\nOAuth2 clients (client credentials at /o/token/)\n")
        for client, secret, organization_name in clients:
            write(f"  {client.client_id:<44} {organization_name}")
            write(f"    secret: {secret}")
            write(f"    scopes: {client.allowed_scopes}")
