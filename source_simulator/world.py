"""The static cast of the simulated world: organizations, clinicians, payers, liaisons, campaigns.

Everything here is drawn once from the seed before the day-by-day simulation starts, so the
same seed and scale always give the same people and places.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

from source_simulator.npi import make_npi
from source_simulator.rates import WorldRates

NETWORK_NAME = "Riverbend Health"


@dataclass(frozen=True)
class Specialty:
    """A specialty the network offers, with its NUCC taxonomy code and visit economics."""

    code: str
    display: str
    service: str
    reason_code: str
    reason_display: str
    visit_revenue: float
    slot_minutes: int


SPECIALTIES = (
    Specialty("207RC0000X", "Cardiovascular Disease", "Cardiology", "49601007",
              "Disorder of cardiovascular system", 310.0, 40),
    Specialty("207X00000X", "Orthopaedic Surgery", "Orthopedics", "928000",
              "Disorder of musculoskeletal system", 265.0, 30),
    Specialty("207RG0100X", "Gastroenterology", "Gastroenterology", "53619000",
              "Disorder of digestive system", 285.0, 30),
    Specialty("207N00000X", "Dermatology", "Dermatology", "95320005",
              "Disorder of skin", 190.0, 20),
    Specialty("2084N0400X", "Neurology", "Neurology", "118940003",
              "Disorder of nervous system", 295.0, 45),
)
PRIMARY_CARE = (
    ("207Q00000X", "Family Medicine"),
    ("207R00000X", "Internal Medicine"),
    ("208000000X", "Pediatrics"),
)
# Source of Payment Typology (PHDSC) top-level codes: what payer class means downstream.
PAYERS = (
    ("PAY-MCR", "Medicare Part B", "1", "MEDICARE", 0.30),
    ("PAY-MCD", "State Medicaid", "2", "MEDICAID", 0.18),
    ("PAY-BCB", "Blue Shield PPO", "5", "PRIVATE HEALTH INSURANCE", 0.28),
    ("PAY-AET", "Evergreen Commercial HMO", "5", "PRIVATE HEALTH INSURANCE", 0.18),
    ("PAY-SELF", "Self-pay", "81", "Self-pay", 0.06),
)


@dataclass
class Organization:
    """A FHIR Organization: the network, its clinics, outside groups or referring practices."""

    org_id: str
    name: str
    npi: str
    in_network: bool
    kind: str  # network | clinic | outside_specialty | referring_practice | payer
    city: str
    state: str
    zip_code: str
    phone: str
    crm_practice_id: str | None = None
    liaison: str | None = None
    created: date | None = None


@dataclass
class Location:
    """A FHIR Location: an in-network clinic site where appointments happen."""

    location_id: str
    code: str
    name: str
    organization: Organization
    specialty: Specialty


@dataclass
class Practitioner:
    """A clinician: an in-network specialist, an in-network PCP or a community referrer."""

    practitioner_id: str
    npi: str
    given: str
    family: str
    taxonomy_code: str
    taxonomy_display: str
    organization: Organization
    role_id: str
    in_network: bool
    weight: float = 1.0
    specialty: Specialty | None = None
    location: Location | None = None
    crm_provider_id: str | None = None
    liaison: str | None = None
    active_from: date | None = None
    active_until: date | None = None

    def refers_on(self, day: date) -> bool:
        """Return whether this clinician is still (or already) sending referrals on ``day``."""
        return (self.active_from is None or day >= self.active_from) and (
            self.active_until is None or day <= self.active_until)

    @property
    def display(self) -> str:
        """Return the practitioner's name as a referral would print it."""
        return f"Dr. {self.given} {self.family}"


@dataclass
class Campaign:
    """A marketing campaign with its channel, UTM tags, dates and budget."""

    campaign_id: str
    name: str
    channel: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    start: date
    end: date
    budget: float
    cost_per_click: float
    specialty: Specialty

    def active_on(self, day: date) -> bool:
        """Return whether the campaign spends on ``day``."""
        return self.start <= day <= self.end

    @property
    def daily_budget(self) -> float:
        """Return the planned spend per day."""
        return self.budget / ((self.end - self.start).days + 1)


@dataclass
class World:
    """Everything drawn before the simulation: the cast and the name pools."""

    start: date
    end: date
    network: Organization
    clinics: list[Organization]
    locations: list[Location]
    outside_groups: list[Organization]
    practices: list[Organization]
    payers: list[Organization]
    specialists: list[Practitioner]
    network_pcps: list[Practitioner]
    community_referrers: list[Practitioner]
    liaisons: list[str]
    campaigns: list[Campaign]
    first_names: list[str]
    last_names: list[str]
    streets: list[str]
    cities: list[tuple[str, str, str]]
    specialists_by_specialty: dict[str, list[Practitioner]] = field(default_factory=dict)
    outside_by_specialty: dict[str, list[Organization]] = field(default_factory=dict)

    @property
    def practitioners(self) -> list[Practitioner]:
        """Return every practitioner in the world."""
        return self.specialists + self.network_pcps + self.community_referrers

    @property
    def organizations(self) -> list[Organization]:
        """Return every organization in the world."""
        return [self.network, *self.clinics, *self.outside_groups, *self.practices, *self.payers]


def zipf_weights(count: int, top_share: float) -> list[float]:
    """Return ``count`` weights, largest first, whose top fifth holds ``top_share`` of the sum.

    Weights are rank ** -s; s is found by bisection, since the share grows with s.
    """
    top = max(1, count // 5)

    def share(exponent: float) -> float:
        weights = [rank ** -exponent for rank in range(1, count + 1)]
        return sum(weights[:top]) / sum(weights)

    low, high = 0.0, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if share(middle) < top_share else (low, middle)
    return [rank ** -low for rank in range(1, count + 1)]


def _phone(rng: random.Random) -> str:
    return f"({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"


def build_world(rng: random.Random, scale: float, start: date, end: date,
                rates: WorldRates) -> World:
    """Draw the static cast of a world of the given scale."""
    fake = Faker("en_US")
    fake.seed_instance(rng.randint(0, 2**31))
    first_names = sorted({fake.first_name() for _ in range(1500)})
    last_names = sorted({fake.last_name() for _ in range(1500)})
    streets = sorted({fake.street_name() for _ in range(600)})
    cities = sorted({(fake.city(), "OH", f"4{rng.randint(3000, 5899):04d}") for _ in range(80)})
    npi_base = iter(rng.sample(range(100_000_000, 300_000_000), 200_000))
    counter = {"org": 0, "prac": 0}

    def org(name: str, kind: str, in_network: bool) -> Organization:
        counter["org"] += 1
        city, state, zip_code = rng.choice(cities)
        return Organization(
            org_id=f"org-{counter['org']:05d}", name=name, npi=make_npi(next(npi_base)),
            in_network=in_network, kind=kind, city=city, state=state, zip_code=zip_code,
            phone=_phone(rng),
            created=start - timedelta(days=rng.randint(400, 9000)),
        )

    def practitioner(organization: Organization, taxonomy: tuple[str, str],
                     in_network: bool) -> Practitioner:
        counter["prac"] += 1
        number = counter["prac"]
        return Practitioner(
            practitioner_id=f"prac-{number:06d}", npi=make_npi(next(npi_base)),
            given=rng.choice(first_names), family=rng.choice(last_names),
            taxonomy_code=taxonomy[0], taxonomy_display=taxonomy[1],
            organization=organization, role_id=f"role-{number:06d}", in_network=in_network,
        )

    network = org(NETWORK_NAME, "network", True)
    clinics, locations, specialists = [], [], []
    specialists_by_specialty: dict[str, list[Practitioner]] = {}
    for specialty in SPECIALTIES:
        clinic = org(f"{NETWORK_NAME} {specialty.service} Center", "clinic", True)
        clinics.append(clinic)
        sites = max(1, round(scale))
        for site in range(sites):
            code = f"{specialty.service[:4].upper()}{site + 1:02d}"
            locations.append(Location(f"loc-{code.lower()}", code,
                                      f"{clinic.name} - Site {site + 1}", clinic, specialty))
        for n in range(max(2, round(3 * scale))):
            doctor = practitioner(clinic, (specialty.code, specialty.display), True)
            doctor.specialty = specialty
            doctor.location = locations[-1 - (n % sites)]
            specialists.append(doctor)
            specialists_by_specialty.setdefault(specialty.code, []).append(doctor)

    primary_clinic = org(f"{NETWORK_NAME} Primary Care", "clinic", True)
    clinics.append(primary_clinic)
    network_pcps = [practitioner(primary_clinic, rng.choice(PRIMARY_CARE), True)
                    for _ in range(max(4, round(20 * scale)))]

    outside_groups, outside_by_specialty = [], {}
    for specialty in SPECIALTIES:
        for n in range(max(1, round(2 * scale))):
            group = org(f"{fake.last_name()} {specialty.service} Associates {n + 1}",
                        "outside_specialty", False)
            outside_groups.append(group)
            outside_by_specialty.setdefault(specialty.code, []).append(group)

    liaisons = sorted({fake.name() for _ in range(max(2, round(4 * scale)))})
    practices, community = [], []
    for n in range(max(5, round(35 * scale))):
        practice = org(f"{fake.last_name()} Family Practice", "referring_practice", False)
        practice.crm_practice_id = f"ACC-{n + 1:06d}"
        practice.liaison = rng.choice(liaisons)
        practices.append(practice)
        for _ in range(rng.randint(2, 6)):
            doctor = practitioner(practice, rng.choice(PRIMARY_CARE), False)
            doctor.liaison = practice.liaison
            community.append(doctor)
    volumes = zipf_weights(len(community), rates.top_referrer_share)
    rng.shuffle(volumes)
    for n, doctor in enumerate(community):
        doctor.crm_provider_id = f"CON-{n + 1:06d}"
        doctor.weight = volumes[n]
        # Some referrers start late or stop sending part way through: the retention story.
        roll = rng.random()
        if roll < 0.12:
            doctor.active_until = start + timedelta(days=rng.randint(60, (end - start).days))
        elif roll < 0.22:
            doctor.active_from = start + timedelta(days=rng.randint(30, (end - start).days))
    for doctor, weight in zip(network_pcps, zipf_weights(len(network_pcps),
                                                         rates.top_referrer_share), strict=True):
        doctor.weight = weight

    payers = []
    for payer_id, name, *_ in PAYERS:
        payer = org(name, "payer", False)
        payer.org_id = payer_id.lower()
        payers.append(payer)

    campaigns = _campaigns(rng, scale, start, end)
    return World(
        start=start, end=end, network=network, clinics=clinics, locations=locations,
        outside_groups=outside_groups, practices=practices, payers=payers,
        specialists=specialists, network_pcps=network_pcps, community_referrers=community,
        liaisons=liaisons, campaigns=campaigns, first_names=first_names,
        last_names=last_names, streets=streets, cities=cities,
        specialists_by_specialty=specialists_by_specialty,
        outside_by_specialty=outside_by_specialty,
    )


CHANNELS = (
    # channel, utm_source, utm_medium, cost per site visit (clicks that load the page)
    ("paid_search", "google", "cpc", 4.10),
    ("paid_social", "facebook", "paid_social", 2.20),
    ("display", "dv360", "display", 3.00),
    ("email", "newsletter", "email", 1.50),
)


def _campaigns(rng: random.Random, scale: float, start: date, end: date) -> list[Campaign]:
    campaigns = []
    span = (end - start).days
    count = max(4, round(8 * math.sqrt(scale)))
    # Total paid spend, and so paid web traffic, grows with scale like every other source:
    # more campaigns share it rather than each bringing a budget that grows with scale too
    # (that made paid traffic grow as scale**1.5; decision 95).
    budget_share = 8 / count
    for n in range(count):
        channel, source, medium, cpc = CHANNELS[n % len(CHANNELS)]
        specialty = SPECIALTIES[n % len(SPECIALTIES)]
        first = start + timedelta(days=rng.randint(0, max(1, span - 120)))
        last = min(end, first + timedelta(days=rng.randint(45, 150)))
        slug = f"{specialty.service.lower()}_{channel}_{first:%Y%m}"
        if any(c.utm_campaign == slug for c in campaigns):  # a UTM tag names one campaign
            slug = f"{slug}_{n + 1}"
        budget = round(rng.uniform(1500, 4500) * scale * budget_share, -2)
        campaigns.append(Campaign(
            campaign_id=f"CMP-{n + 1:04d}", name=f"{specialty.service} {channel} {first:%b %Y}",
            channel=channel, utm_source=source, utm_medium=medium, utm_campaign=slug,
            start=first, end=last, budget=budget, cost_per_click=cpc, specialty=specialty,
        ))
    return campaigns


@dataclass
class Person:
    """A patient or would-be patient, with every direct identifier a source may carry."""

    patient_id: str
    mrn: str
    given: str
    family: str
    gender: str
    birth: date
    street: str
    city: str
    state: str
    zip_code: str
    phone: str
    payer: Organization
    payer_class: tuple[str, str]
    registered: bool = False

    @property
    def coverage_id(self) -> str:
        """Return the id of the person's Coverage resource."""
        return f"cov-{self.patient_id[4:]}"

    @property
    def email(self) -> str:
        """Return the e-mail address a web form would capture."""
        return f"{self.given.lower()}.{self.family.lower()}{self.mrn[-3:]}@example.net"
