"""Seeded synthetic data for every table of the data model.

:func:`synthetic` draws a complete, internally consistent CRM data set (all
nine tables of :class:`crm_metrics.CRMData`) from one seeded generative model.
It is meant for examples, tests, benchmarks and the ``crm-metrics demo``
command; every name, e-mail address, phone number and address in it is fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

from crm_metrics.data import CRMData
from crm_metrics.exceptions import ArgumentError

if TYPE_CHECKING:
    import numpy.typing as npt

    F64 = npt.NDArray[np.float64]
    I64 = npt.NDArray[np.int64]
    I32 = npt.NDArray[np.int32]
    Codes = npt.NDArray[np.intp]
    Bools = npt.NDArray[np.bool_]

__all__ = ["synthetic"]

_US_PER_DAY: Final = 86_400_000_000
_DAYS_PER_YEAR: Final = 365.25
_DAYS_PER_MONTH: Final = 30.44

# ---------------------------------------------------------------------------
# Fixed parameters of the generative model (documented in synthetic's Notes).
# ---------------------------------------------------------------------------

# Acquisition channels: share at the start of the window, yearly log-trend of the
# share, marketing CAC in USD (0 = no paid spend), multipliers on the purchase
# rate and on the dropout probability, lead conversion rate, mean lead lag (days).
_CHANNELS: Final = ("paid_search", "social", "email", "referral", "organic", "display")
_CHANNEL_SHARE: Final = np.array([0.26, 0.20, 0.10, 0.09, 0.25, 0.10])
_CHANNEL_TREND: Final = np.array([0.0, 0.15, 0.0, 0.10, 0.05, -0.20])
_CHANNEL_CAC: Final = np.array([55.0, 70.0, 20.0, 0.0, 0.0, 110.0])
_CHANNEL_RATE: Final = np.array([1.05, 0.90, 1.10, 1.10, 1.00, 0.85])
_CHANNEL_DROPOUT: Final = np.array([1.00, 1.25, 0.90, 0.70, 0.85, 1.35])
_LEAD_CONVERSION: Final = np.array([0.25, 0.18, 0.30, 0.45, 0.35, 0.10])
_LEAD_LAG_DAYS: Final = np.array([6.0, 15.0, 10.0, 14.0, 3.0, 20.0])
_CAC_GROWTH_PER_YEAR: Final = 0.10
_ACQUISITION_GROWTH_PER_YEAR: Final = 0.35

# BG/NBD purchase process: lambda ~ Gamma(shape R, rate ALPHA) per day,
# p ~ Beta(A, B); Gamma-Gamma spend: nu ~ Gamma(shape Q, rate GAMMA), order
# value ~ Gamma(shape P_GG, rate nu).
_BG_R: Final = 1.0
_BG_ALPHA: Final = 14.0
_BG_A: Final = 1.4
_BG_B: Final = 12.0
_GG_P: Final = 5.0
_GG_Q: Final = 4.0
_GG_GAMMA: Final = 48.0
_SAME_DAY_REPEAT_PROB: Final = 0.02
_REFUND_PROB: Final = 0.021
_MIN_ORDER_VALUE: Final = 1.0

_CATEGORIES: Final = (
    "electronics",
    "apparel",
    "home",
    "beauty",
    "sports",
    "books",
    "toys",
    "grocery",
)
_CATEGORY_SHARE: Final = np.array([0.12, 0.22, 0.14, 0.12, 0.10, 0.10, 0.08, 0.12])
_CATEGORY_PRICE: Final = np.array([2.2, 0.9, 1.3, 0.7, 1.1, 0.45, 0.8, 0.55])
_PRODUCTS_PER_CATEGORY: Final = 200
_ORDER_CHANNELS: Final = ("web", "app", "store")

# Seasonality of purchases and acquisitions (multipliers, normalised to mean 1).
_MONTH_FACTOR: Final = np.array(
    [0.85, 0.82, 0.92, 0.95, 0.98, 0.95, 0.93, 0.97, 1.00, 1.03, 1.25, 1.45]
)
_WEEKDAY_FACTOR: Final = np.array([0.97, 0.95, 0.95, 0.98, 1.02, 1.08, 1.05])  # Monday first
_HOUR_FACTOR: Final = np.array(
    [
        *(0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.30, 0.55, 0.80, 1.00, 1.15, 1.25),  # 0-11 h
        *(1.35, 1.30, 1.20, 1.15, 1.15, 1.25, 1.45, 1.60, 1.65, 1.45, 1.00, 0.55),  # 12-23 h
    ]
)
_BLACK_FRIDAY_FACTOR: Final = 1.8

# Subscriptions.
_PLANS: Final = ("basic", "pro", "enterprise")
_PLAN_MRR: Final = np.array([19.0, 49.0, 199.0])
_PLAN_SHARE: Final = np.array([0.6, 0.3, 0.1])
_SUBSCRIBER_SHARE: Final = 0.30
_SUB_STEPS: Final = 8

# Web sessions.
_SESSION_SOURCES: Final = (*_CHANNELS, "direct")
_SESSION_SOURCE_SHARE: Final = np.array([0.22, 0.18, 0.10, 0.05, 0.25, 0.06, 0.14])

# Campaigns: channel, impressions per acquisition, click-through rate,
# engagement rate (nan = not tracked), reach share (nan = not tracked).
_CAMPAIGN_CHANNELS: Final = ("paid_search", "social", "email", "display")
_CAMPAIGN_IMPRESSIONS_PER_ACQ: Final = np.array([300.0, 1500.0, 250.0, 3000.0])
_CAMPAIGN_CTR: Final = np.array([0.040, 0.012, 0.025, 0.003])
_CAMPAIGN_ENGAGEMENT: Final = np.array([np.nan, 0.030, 0.220, np.nan])
_CAMPAIGN_REACH: Final = np.array([np.nan, 0.65, 1.0, 0.55])
_CAMPAIGN_THEMES: Final = ("brand", "promo", "retargeting", "launch", "seasonal")

# People and places (all fake).
_GEOGRAPHY: Final = (
    # country, region, city, calling code, weight
    ("United States", "California", "San Francisco", "+1", 0.07),
    ("United States", "California", "Los Angeles", "+1", 0.10),
    ("United States", "New York", "New York", "+1", 0.12),
    ("United States", "New York", "Buffalo", "+1", 0.03),
    ("United States", "Texas", "Austin", "+1", 0.05),
    ("United States", "Texas", "Houston", "+1", 0.06),
    ("United States", "Illinois", "Chicago", "+1", 0.07),
    ("United States", "Washington", "Seattle", "+1", 0.05),
    ("Canada", "Ontario", "Toronto", "+1", 0.06),
    ("Canada", "British Columbia", "Vancouver", "+1", 0.03),
    ("Canada", "Quebec", "Montreal", "+1", 0.03),
    ("United Kingdom", "England", "London", "+44", 0.09),
    ("United Kingdom", "England", "Manchester", "+44", 0.03),
    ("United Kingdom", "Scotland", "Edinburgh", "+44", 0.02),
    ("Germany", "Bavaria", "Munich", "+49", 0.04),
    ("Germany", "Berlin", "Berlin", "+49", 0.05),
    ("Australia", "New South Wales", "Sydney", "+61", 0.05),
    ("Australia", "Victoria", "Melbourne", "+61", 0.05),
)
_GENDERS: Final = ("female", "male", "non-binary", "undisclosed")
_GENDER_SHARE: Final = np.array([0.49, 0.48, 0.015, 0.015])
_FEMALE_NAMES: Final = (
    "Emma", "Olivia", "Ava", "Sophia", "Mia", "Amelia", "Harper", "Evelyn", "Abigail", "Emily",
    "Ella", "Grace", "Chloe", "Lily", "Hannah", "Zoe", "Nora", "Leah", "Maya", "Aria",
    "Clara", "Julia", "Laura", "Sara", "Elena", "Anna", "Lena", "Ines", "Alice", "Ruby",
)  # fmt: skip
_MALE_NAMES: Final = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Jack", "Leo", "Owen", "Samuel", "Daniel", "David", "Joseph", "Adam", "Max", "Felix",
    "Jonas", "Paul", "Ethan", "Mason", "Logan", "Aaron", "Oscar", "Hugo", "Ivan", "Omar", "Ravi",
)  # fmt: skip
_NEUTRAL_NAMES: Final = (
    "Alex", "Sam", "Jordan", "Taylor", "Casey", "Riley", "Morgan", "Jamie", "Robin", "Quinn",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell",
    "Roberts", "Carter", "Phillips", "Evans", "Turner", "Torres", "Parker", "Collins",
    "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Nguyen", "Patel", "Kim",
    "Schmidt", "Muller", "Rossi", "Silva", "Novak", "Larsen", "Dubois",
)  # fmt: skip
_STREETS: Final = (
    "Maple", "Oak", "Cedar", "Elm", "Pine", "Lake", "Hill", "Park", "Main", "Church",
    "Mill", "River", "Sunset", "Willow", "Birch", "Meadow", "Forest", "Spring", "Station", "High",
)  # fmt: skip
_STREET_TYPES: Final = ("Street", "Avenue", "Road", "Lane", "Drive", "Way", "Court")
_EMAIL_DOMAINS: Final = ("example.com", "example.org", "example.net")
# occupation, median yearly income (USD)
_OCCUPATIONS: Final = (
    ("engineer", 92_000.0),
    ("teacher", 52_000.0),
    ("nurse", 61_000.0),
    ("sales associate", 38_000.0),
    ("manager", 88_000.0),
    ("designer", 64_000.0),
    ("accountant", 70_000.0),
    ("driver", 42_000.0),
    ("chef", 40_000.0),
    ("consultant", 85_000.0),
    ("software developer", 105_000.0),
    ("technician", 50_000.0),
    ("self-employed", 58_000.0),
    ("student", 12_000.0),
    ("retired", 34_000.0),
)
_STUDENT: Final = 13
_RETIRED: Final = 14

# Free-text templates. Placeholders {first_name}, {email} and {phone} are filled
# with the customer's (fake) details; "personal" templates are only used for rows
# that have a customer.
_SURVEY_TEMPLATES: Final = (
    (  # detractors, 0-6
        (
            "Delivery took far too long.",
            "Product quality was disappointing.",
            "Support never answered my emails.",
            "Too expensive for what you get.",
            "My refund is still pending.",
        ),
        (
            "This is {first_name}: my order arrived damaged, please call me at {phone}.",
            "Please contact me at {email}, I want to close my account.",
        ),
    ),
    (  # passives, 7-8
        (
            "It was fine, nothing special.",
            "Decent prices, slow shipping.",
            "Good products but the app is clunky.",
        ),
        ("{first_name} here - OK overall, the website could be faster.",),
    ),
    (  # promoters, 9-10
        (
            "Great service, will buy again!",
            "Fast delivery and great quality.",
            "Love the app, super easy to use.",
        ),
        (
            "Thanks from {first_name}! Best shop I know.",
            "Excellent! Reach me at {email} if you want a testimonial.",
        ),
    ),
)
_REVIEW_TEMPLATES: Final = (
    (  # ratings 1-2
        (
            "Broke after a week. Not recommended.",
            "Not as described.",
            "Arrived late and the box was crushed.",
        ),
        ("{first_name} again: second faulty item in a row.",),
    ),
    (  # rating 3
        ("Average quality for the price.", "Does the job."),
        ("Okay-ish, says {first_name}.",),
    ),
    (  # ratings 4-5
        ("Exactly what I needed.", "Great value, fast shipping.", "Five stars, would buy again."),
        ("{first_name} loves it!",),
    ),
)
_SUPPORT_TEMPLATES: Final = (
    (
        "Where is my order?",
        "I was charged twice.",
        "How do I return an item?",
        "The discount code does not work.",
    ),
    (
        "Hi, {first_name} here. Please call me back on {phone} about my return.",
        "Please send the invoice to {email}.",
        "My name is {first_name}; the item I received is damaged.",
    ),
)
_SOCIAL_TEMPLATES: Final = (
    (
        "Just got my package, love it! #happycustomer",
        "Why is the checkout so slow today?",
        "Big sale this weekend, don't miss it.",
        "Customer service was really helpful.",
    ),
    ("Shout-out to the team from {first_name}!",),
)
_FEEDBACK_CHANNELS: Final = ("survey", "review", "support", "social")


@dataclass(frozen=True, slots=True)
class _Clock:
    """The observation window and the seasonal intensity grids (hourly)."""

    n_days: int
    horizon_us: int  # end of the window, exclusive, in microseconds after start
    epoch_us: int  # start of the window in microseconds since 1970-01-01
    grid: F64  # hour boundaries in days after start, length 24 * n_days + 1
    cum_orders: F64  # cumulative purchase intensity ("operational time") on grid
    cum_acquisitions: F64  # cumulative acquisition intensity on grid
    daily_acquisitions: F64  # share of acquisitions per day, sums to 1
    daily_season: F64  # seasonal x weekday multiplier per day


@dataclass(frozen=True, slots=True)
class _Customers:
    """Per-customer latent and observed attributes (index i = customer_id - 1)."""

    acquired_us: I64
    channel: Codes
    rate: F64  # purchases per day while alive (lambda)
    dropout: F64  # dropout probability after each purchase (p)
    spend_rate: F64  # Gamma-Gamma nu
    favourite_category: Codes
    preferred_order_channel: Codes
    first_name: pl.Series
    email: pl.Series
    phone: pl.Series
    frame: pl.DataFrame


@dataclass(frozen=True, slots=True)
class _Purchases:
    """Purchase rows (no refunds), in generation order."""

    customer: I32
    at_us: I64
    amount: F64
    channel: Codes
    refunded: Bools
    refund_at_us: I64  # refund times, aligned with np.flatnonzero(refunded)


def synthetic(
    n_customers: int = 10_000,
    *,
    seed: int = 0,
    start: date = date(2023, 1, 1),
    end: date = date(2025, 12, 31),
) -> CRMData:
    """Generate a seeded, internally consistent synthetic CRM data set.

    Parameters
    ----------
    n_customers : int, default 10_000
        Number of customers to generate (at least 1). The other tables scale
        with it: about 10 orders, 4 to 5 leads and 3 web sessions per customer
        over the default three-year window.
    seed : int, default 0
        Seed of the one :func:`numpy.random.default_rng` that drives every draw.
        The same seed (and arguments) gives identical frames.
    start, end : datetime.date
        First and last day of the observation window; ``end`` is inclusive
        (events may fall anywhere on that day, none after it). ``start`` must be
        before ``end``.

    Returns
    -------
    CRMData
        All nine tables: ``customers``, ``orders``, ``spend``, ``leads``,
        ``survey_responses``, ``feedback``, ``subscriptions``, ``web_sessions``
        and ``campaign_stats``, with the canonical column names and dtypes of
        the data model (ids ``Int64``, event times naive ``Datetime("us")``,
        days ``Date``, money ``Float64`` rounded to cents). Each table is sorted
        by its key (its id; ``spend`` by day, channel and kind; ``campaign_stats``
        by day and campaign), and ids are numbered in time order.

    Raises
    ------
    crm_metrics.ArgumentError
        If ``n_customers`` is not an integer of at least 1, ``seed`` is not a
        non-negative integer, or ``start``/``end`` are not dates with
        ``start < end``.

    Notes
    -----
    Everything here is synthetic. Names, e-mail addresses (on the reserved
    domains ``example.com``, ``example.org`` and ``example.net``), phone numbers
    (the fictional ``555-01xx`` range) and street addresses are assembled from
    short lists and random numbers; they describe no real person.

    Time has three multiplicative intensity profiles, each with mean about 1:
    month of year (Nov-Dec peak, Jan-Feb trough), day of week (weekend high),
    hour of day (evening peak, night trough), plus a x1.8 bump over the four
    days from Black Friday to Cyber Monday.

    **customers.** Acquisition times are drawn from the seasonal profile times
    an exponential growth trend of +35 % a year; ``customer_id`` is numbered
    in acquisition order. The channel is drawn with shares
    (paid_search 26 %, social 20 %, email 10 %, referral 9 %, organic 25 %,
    display 10 % at ``start``) that drift over time (social and referral grow,
    display shrinks). Demographics: a small table of 18 cities in 5 countries,
    ages 18-80 at acquisition (scaled Beta(2.2, 3.5)), gender, occupation
    (students are young, retirees old) and a log-normal income around the
    occupation's median; marketing consent about 60 % (80 % for e-mail
    acquisitions), analytics consent about 80 %.

    **orders.** A buy-till-you-die (BG/NBD) process. Each customer has a
    purchase rate λ ~ Gamma(shape 1.0, rate 14) per day (one purchase every
    two weeks on average) and a dropout probability
    p ~ Beta(1.4, 12), both scaled by a channel multiplier (referral customers
    churn least, display the most). The first order is at ``acquired_at``;
    after every purchase the customer drops out with probability p, and
    while alive inter-purchase gaps are exponential with rate λ in
    seasonal "operational time" (the inhomogeneous process is sampled exactly
    by time change; no thinning loop). Order values follow Gamma-Gamma:
    nu ~ Gamma(4, rate 48 x (income / 60,000)^-0.25), value ~ Gamma(5, rate nu),
    times a category price factor, at least 1.00. About 2 % of purchases get
    a same-day repeat order, and about 2 % a refund: a separate row with a
    negative amount (the whole purchase, or 10-90 % of it) dated 1 hour plus
    Gamma(2, 3) days after it (refunds that would fall after ``end`` are
    dropped). ``category`` follows the customer's favourite half the time,
    ``product_id`` is Zipf-distributed within the category, ``channel``
    (web/app/store) follows the customer's preference (young people prefer
    the app) 75 % of the time. All amounts are in USD.

    **leads.** Every customer has exactly one ``"won"`` lead, created a
    Gamma(1.5)-distributed lag before ``acquired_at`` (mean 3 to 20 days by
    source) and converted at ``acquired_at``. Unconverted leads are added per
    source so that the conversion rate is 10 % (display) to 45 % (referral),
    about 22 % overall; their stage is ``"new"``, ``"qualified"`` or
    ``"proposal"`` while young, else mostly ``"lost"``.

    **spend.** One ``"marketing"`` row per day and paid channel
    (paid_search, social, email, display; organic and referral cost nothing)
    equal to the channel's CAC (55, 70, 20 and 110 USD, rising 10 % a year)
    times 0.8 x that day's acquisitions + 0.2 x their expected number, with
    log-normal noise (log-sd 0.2); plus weekday ``"sales"`` rows of about 30 % of
    that.

    **survey_responses.** 8 % of purchases trigger an NPS response 10 minutes
    plus Exp(1.5 days) later. The score is
    round(7.6 - 25 (p - 0.11) + N(0, 2) - 2.5 x refunded), clipped to 0-10,
    so customers likely to churn score lower. 5 % are anonymous; 35 % carry a
    templated comment, some with the customer's name, e-mail or phone.

    **feedback.** Reviews (3 % of purchases, rating 1-5 tied to p and
    refunds), support contacts (60 % of refunds, between purchase and refund,
    plus 0.5 % of purchases; a CSAT rating 40 % of the time), survey comments
    (half of the commented NPS responses, rating = ceil(score / 2), at least 1) and social
    mentions (0.5 % of purchases, 70 % anonymous, no rating).

    **subscriptions.** 30 % of customers subscribe at acquisition or
    Exp(25 days) later, to basic / pro / enterprise (19, 49, 199 USD MRR;
    60/30/10 %). A plan lasts until the first of three exponential clocks:
    cancellation ((0.02 + 0.35 p) a month), upgrade (2.5 % a month) and
    downgrade (1.2 % a month); an upgrade or downgrade closes the row and opens
    the next plan at the same instant; 30 % of cancellations reactivate after
    Exp(75 days) on a fresh plan. At most 8 rows per customer; ``ended_at`` is
    null while a plan is still running at ``end``.

    **web_sessions.** Each customer has one ``visitor_id``; anonymous visitors
    (0.6 per customer, 1 + Poisson(0.8) sessions each) get the other ids.
    5 % of web and app purchases happen in a ``converted`` session that starts
    a few minutes before the order; 15 % of purchases are followed by a
    browsing visit Exp(4 days) later. Bounces (1 pageview, duration 0) are
    35 % of customer and 55 % of anonymous browsing sessions; other sessions
    last about 50 s per pageview; 1 % of durations are missing.

    **campaign_stats.** Each paid channel runs one campaign per 45 days of
    window on average, 7-90 days long, with daily impressions proportional to
    the channel's expected acquisitions and seasonality, binomial clicks by
    the channel's click-through rate, engagements (social, email) and reach
    (social, email, display; null elsewhere).

    Every draw comes from one generator in a fixed order, so the output depends
    on all arguments together: a larger ``n_customers`` gives a different data
    set, not the smaller one plus extra customers. The generation is vectorised
    (numpy and Polars, no loop over rows); one million customers (about ten
    million orders) take well under a minute and a few GiB of memory.

    Examples
    --------
    >>> import crm_metrics as cm
    >>> data = cm.datasets.synthetic(200, seed=1)
    >>> for name, frame in data.items():
    ...     print(f"{name:<17}{frame.height:>6}")
    customers           200
    orders             2662
    spend              7516
    leads               866
    survey_responses    202
    feedback            194
    subscriptions        88
    web_sessions        700
    campaign_stats     4603
    >>> data.orders.columns
    ['order_id', 'customer_id', 'ordered_at', 'amount', 'product_id', 'category', 'quantity', \
'channel', 'currency']
    """
    _check_arguments(n_customers, seed, start, end)
    rng = np.random.default_rng(seed)
    clock = _make_clock(start, end)

    customers = _customers(rng, clock, n_customers)
    purchases, orders = _orders(rng, clock, customers)
    leads = _leads(rng, clock, customers)
    survey, survey_feedback = _survey_responses(rng, clock, customers, purchases)
    feedback = _feedback(rng, clock, customers, purchases, survey_feedback)
    subscriptions = _subscriptions(rng, clock, customers)
    sessions = _web_sessions(rng, clock, customers, purchases)
    spend = _spend(rng, clock, customers)
    campaigns = _campaign_stats(rng, clock, start, n_customers)

    return CRMData(
        customers=customers.frame,
        orders=orders,
        spend=spend,
        leads=leads,
        survey_responses=survey,
        feedback=feedback,
        subscriptions=subscriptions,
        web_sessions=sessions,
        campaign_stats=campaigns,
    )


# ---------------------------------------------------------------------------
# Arguments and time
# ---------------------------------------------------------------------------


def _check_arguments(n_customers: object, seed: object, start: object, end: object) -> None:
    if isinstance(n_customers, bool) or not isinstance(n_customers, int | np.integer):
        msg = (
            f"n_customers must be an int, got {n_customers!r} ({type(n_customers).__name__}).\n"
            "Expected: a whole number of customers, at least 1.\n"
            "Hint: write synthetic(1_000_000), not synthetic(1e6)."
        )
        raise ArgumentError(msg)
    if n_customers < 1:
        msg = (
            f"n_customers must be at least 1, got {n_customers}.\n"
            "Expected: a whole number of customers, at least 1.\n"
            "Hint: the default is 10_000; use a small number such as 200 for a quick look."
        )
        raise ArgumentError(msg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = (
            f"seed must be a non-negative int, got {seed!r}.\n"
            "Expected: an int >= 0, passed to numpy.random.default_rng.\n"
            "Hint: use seed=0 (the default) or any other fixed non-negative integer."
        )
        raise ArgumentError(msg)
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, datetime) or not isinstance(value, date):
            msg = (
                f"{name} must be a datetime.date, got {value!r} ({type(value).__name__}).\n"
                "Expected: a calendar day; the window covers whole days.\n"
                f"Hint: pass {name}=datetime.date(2024, 1, 1) (or call .date() on a datetime)."
            )
            raise ArgumentError(msg)
    assert isinstance(start, date)
    assert isinstance(end, date)
    if start >= end:
        msg = (
            f"start must be before end, got start={start.isoformat()} and "
            f"end={end.isoformat()}.\n"
            "Expected: start < end (end is inclusive).\n"
            "Hint: swap the two dates, or widen the window to at least two days."
        )
        raise ArgumentError(msg)


def _make_clock(start: date, end: date) -> _Clock:
    n_days = (end - start).days + 1
    day = np.datetime64(start, "D") + np.arange(n_days)
    month = day.astype("datetime64[M]")
    month_index = month.astype(np.int64) % 12
    day_of_month = (day - month).astype(np.int64) + 1
    weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    black_friday = np.flatnonzero((month_index == 10) & (weekday == 3) & (day_of_month >= 22))
    black_friday = black_friday[day_of_month[black_friday] <= 28]
    cyber_week = (black_friday[:, None] + np.arange(4)).ravel()
    cyber_week = cyber_week[cyber_week < n_days]

    month_factor = _MONTH_FACTOR / _MONTH_FACTOR.mean()
    weekday_factor = _WEEKDAY_FACTOR / _WEEKDAY_FACTOR.mean()
    hour_factor = _HOUR_FACTOR / _HOUR_FACTOR.mean()
    daily_season = month_factor[month_index] * weekday_factor[weekday]
    daily_season[cyber_week] *= _BLACK_FRIDAY_FACTOR

    hourly = (daily_season[:, None] * hour_factor[None, :]).ravel()
    grid = np.arange(24 * n_days + 1, dtype=np.float64) / 24.0
    cum_orders = np.concatenate([[0.0], np.cumsum(hourly) / 24.0])
    growth = np.exp(_ACQUISITION_GROWTH_PER_YEAR * grid[:-1] / _DAYS_PER_YEAR)
    cum_acq = np.concatenate([[0.0], np.cumsum(hourly * growth)])
    cum_acq /= cum_acq[-1]
    daily_acq = np.diff(cum_acq[::24])

    epoch_us = int(np.datetime64(start, "us").astype(np.int64))
    return _Clock(
        n_days=n_days,
        horizon_us=n_days * _US_PER_DAY,
        epoch_us=epoch_us,
        grid=grid,
        cum_orders=cum_orders,
        cum_acquisitions=cum_acq,
        daily_acquisitions=daily_acq,
        daily_season=daily_season,
    )


def _acquisition_like_times(rng: np.random.Generator, clock: _Clock, size: int) -> F64:
    """Draw ``size`` times (days after start) from the acquisition intensity."""
    return np.interp(rng.random(size), clock.cum_acquisitions, clock.grid)


def _to_us(clock: _Clock, days: F64) -> I64:
    """Days after start -> microseconds after start, inside [0, horizon)."""
    us = np.floor(days * _US_PER_DAY).astype(np.int64)
    return np.clip(us, 0, clock.horizon_us - 1, out=us)


def _datetime(clock: _Clock, us: I64, name: str) -> pl.Series:
    return pl.Series(name, (us + clock.epoch_us).view("datetime64[us]"))


def _pick(name: str, values: tuple[str, ...], codes: Codes) -> pl.Series:
    """Strings ``values[codes]`` as a String Series (a gather, no Python loop)."""
    return pl.Series(name, values, dtype=pl.String).gather(codes.astype(np.uint32))


def _choice(rng: np.random.Generator, weights: F64, size: int) -> Codes:
    """Categorical draws with the given (unnormalised) weights."""
    cdf = np.cumsum(weights / weights.sum())
    codes: Codes = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(codes, len(weights) - 1)


def _round_cents(x: F64) -> F64:
    return np.round(x, 2)


def _segment_starts(counts: I64) -> I64:
    """Offsets at which each run of a ``np.repeat(..., counts)`` begins."""
    return np.cumsum(counts) - counts


def _nullable(series: pl.Series, valid: Bools) -> pl.Series:
    """Set ``series`` to null where ``valid`` is False."""
    return pl.select(pl.when(pl.lit(pl.Series(valid))).then(series)).to_series().alias(series.name)


def _templated_text(
    rng: np.random.Generator,
    name: str,
    *,
    templates: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...],
    group: Codes,
    personal: Bools,
    customer: I32,
    customers: _Customers,
) -> pl.Series:
    """Pick a template per row (by group; personal ones only where allowed) and fill it."""
    flat: list[str] = []
    offset = np.zeros((len(templates), 2), dtype=np.int64)
    count = np.zeros((len(templates), 2), dtype=np.int64)
    for g, pair in enumerate(templates):  # a handful of template groups, not rows
        for is_personal, texts in enumerate(pair):
            offset[g, is_personal] = len(flat)
            count[g, is_personal] = len(texts)
            flat.extend(texts)
    kind = personal.astype(np.intp)
    pick = offset[group, kind] + np.floor(rng.random(group.size) * count[group, kind]).astype(
        np.int64
    )
    who = np.maximum(customer, 0)
    frame = pl.DataFrame(
        {
            "t": _pick("t", tuple(flat), pick),
            "first_name": customers.first_name.gather(who),
            "email": customers.email.gather(who),
            "phone": customers.phone.gather(who),
        }
    )
    return frame.select(
        pl.col("t")
        .str.replace_all("{first_name}", pl.col("first_name"), literal=True)
        .str.replace_all("{email}", pl.col("email"), literal=True)
        .str.replace_all("{phone}", pl.col("phone"), literal=True)
        .alias(name)
    ).to_series()


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def _customers(rng: np.random.Generator, clock: _Clock, n: int) -> _Customers:
    acquired_days = np.sort(_acquisition_like_times(rng, clock, n))
    acquired_us = _to_us(clock, acquired_days)
    years = acquired_days / _DAYS_PER_YEAR

    # Channel, with shares drifting over time.
    weights = _CHANNEL_SHARE[None, :] * np.exp(_CHANNEL_TREND[None, :] * years[:, None])
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    channel: Codes = (rng.random(n)[:, None] > cdf[:, :-1]).sum(axis=1)
    del weights, cdf

    # Latent BG/NBD and Gamma-Gamma parameters.
    rate = rng.gamma(_BG_R, 1.0 / _BG_ALPHA, n) * _CHANNEL_RATE[channel]
    dropout = np.clip(rng.beta(_BG_A, _BG_B, n) * _CHANNEL_DROPOUT[channel], 1e-4, 0.9)

    # Demographics.
    geo = _choice(rng, np.array([g[4] for g in _GEOGRAPHY]), n)
    gender = _choice(rng, _GENDER_SHARE, n)
    age_days = (18.0 + 62.0 * rng.beta(2.2, 3.5, n)) * _DAYS_PER_YEAR
    age_years = age_days / _DAYS_PER_YEAR
    occupation = _choice(rng, np.ones(_STUDENT), n)
    u = rng.random(n)
    occupation[(age_years < 24) & (u < 0.6)] = _STUDENT
    occupation[(age_years > 64) & (u < 0.8)] = _RETIRED
    medians = np.array([o[1] for o in _OCCUPATIONS])
    age_income = 0.75 + 0.35 * np.exp(-(((age_years - 50.0) / 15.0) ** 2))
    income = _round_cents(medians[occupation] * age_income * rng.lognormal(0.0, 0.35, n))
    spend_rate = rng.gamma(_GG_Q, 1.0 / _GG_GAMMA, n) * (income / 60_000.0) ** -0.25
    favourite_category = _choice(rng, _CATEGORY_SHARE, n)
    app_share = np.clip(0.55 - 0.008 * (age_years - 18.0), 0.1, 0.6)
    u = rng.random(n)
    preferred_order_channel: Codes = np.where(
        u < app_share, 1, np.where(u < app_share + 0.7 * (1 - app_share), 0, 2)
    )
    consent_marketing = rng.random(n) < np.where(channel == _CHANNELS.index("email"), 0.8, 0.6)
    consent_analytics = rng.random(n) < 0.8

    # Fake PII.
    names = _FEMALE_NAMES + _MALE_NAMES + _NEUTRAL_NAMES
    first_offset = np.array([0, len(_FEMALE_NAMES), len(_FEMALE_NAMES) + len(_MALE_NAMES)])
    first_count = np.array([len(_FEMALE_NAMES), len(_MALE_NAMES), len(_NEUTRAL_NAMES)])
    name_group = np.minimum(gender, 2)
    first = first_offset[name_group] + np.floor(rng.random(n) * first_count[name_group]).astype(
        np.int64
    )
    last = np.floor(rng.random(n) * len(_LAST_NAMES)).astype(np.int64)
    domain = _choice(rng, np.array([0.5, 0.3, 0.2]), n)
    phone_suffix = rng.integers(0, 100, n)
    house = rng.integers(1, 2000, n)
    street = rng.integers(0, len(_STREETS), n)
    street_type = rng.integers(0, len(_STREET_TYPES), n)

    customer_id = np.arange(1, n + 1, dtype=np.int64)
    acquired_date = (acquired_us // _US_PER_DAY) + (clock.epoch_us // _US_PER_DAY)
    birth_date = (acquired_date - np.ceil(age_days).astype(np.int64)).astype(np.int32)

    raw = pl.DataFrame(
        {
            "customer_id": customer_id,
            "acquired_at": _datetime(clock, acquired_us, "acquired_at"),
            "acquisition_channel": _pick("acquisition_channel", _CHANNELS, channel),
            "first": _pick("first", names, first),
            "last": _pick("last", _LAST_NAMES, last),
            "domain": _pick("domain", _EMAIL_DOMAINS, domain),
            "code": _pick("code", tuple(g[3] for g in _GEOGRAPHY), geo),
            "phone_suffix": phone_suffix,
            "house": house,
            "street": _pick("street", _STREETS, street),
            "street_type": _pick("street_type", _STREET_TYPES, street_type),
            "birth_date": pl.Series(birth_date).cast(pl.Date),
            "gender": _pick("gender", _GENDERS, gender),
            "country": _pick("country", tuple(g[0] for g in _GEOGRAPHY), geo),
            "region": _pick("region", tuple(g[1] for g in _GEOGRAPHY), geo),
            "city": _pick("city", tuple(g[2] for g in _GEOGRAPHY), geo),
            "occupation": _pick("occupation", tuple(o[0] for o in _OCCUPATIONS), occupation),
            "income": income,
            "consent_marketing": consent_marketing,
            "consent_analytics": consent_analytics,
        }
    )
    frame = raw.select(
        "customer_id",
        "acquired_at",
        "acquisition_channel",
        pl.concat_str("first", "last", separator=" ").alias("name"),
        pl.concat_str(
            pl.concat_str("first", "last", separator=".").str.to_lowercase(),
            pl.col("customer_id").cast(pl.String),
            pl.lit("@"),
            "domain",
        ).alias("email"),
        pl.concat_str(
            "code", pl.lit(" 555-01"), pl.col("phone_suffix").cast(pl.String).str.zfill(2)
        ).alias("phone"),
        pl.concat_str(
            pl.col("house").cast(pl.String),
            pl.lit(" "),
            "street",
            pl.lit(" "),
            "street_type",
            pl.lit(", "),
            "city",
        ).alias("address"),
        "birth_date",
        "gender",
        "country",
        "region",
        "city",
        "occupation",
        "income",
        "consent_marketing",
        "consent_analytics",
    )
    return _Customers(
        acquired_us=acquired_us,
        channel=channel,
        rate=rate,
        dropout=dropout,
        spend_rate=spend_rate,
        favourite_category=favourite_category,
        preferred_order_channel=preferred_order_channel,
        first_name=raw.get_column("first"),
        email=frame.get_column("email"),
        phone=frame.get_column("phone"),
        frame=frame,
    )


def _orders(
    rng: np.random.Generator, clock: _Clock, customers: _Customers
) -> tuple[_Purchases, pl.DataFrame]:
    n = customers.acquired_us.size
    horizon = clock.horizon_us

    # --- BG/NBD purchase times, in operational (seasonal) time -------------
    # In operational time u = Lambda(t) the purchase process is homogeneous
    # with rate lambda. Given M ~ Poisson(lambda L) events in the customer's
    # remaining window (length L), and N ~ Geometric(p) purchases before
    # dropout, the observed repeats are the first R = min(N, M + 1) - 1 order
    # statistics of M uniforms: S_i / (S_R + Gamma(M - R + 1)) with S_i the
    # cumulative sum of i unit exponentials. Exact, and R draws per customer.
    acquired_days = customers.acquired_us / _US_PER_DAY
    u0 = np.interp(acquired_days, clock.grid, clock.cum_orders)
    window = clock.cum_orders[-1] - u0
    m = rng.poisson(customers.rate * window)
    purchases_before_dropout = rng.geometric(customers.dropout)
    repeats = (np.minimum(purchases_before_dropout, m + 1) - 1).astype(np.int64)
    tail = rng.gamma(m - repeats + 1.0)
    del m, purchases_before_dropout

    total = int(repeats.sum())
    rep_customer = np.repeat(np.arange(n, dtype=np.int32), repeats)
    cum = np.empty(total + 1)
    cum[0] = 0.0
    np.cumsum(rng.exponential(size=total), out=cum[1:])
    base = cum[_segment_starts(repeats)]
    top = cum[np.cumsum(repeats)]
    scale = window / (top - base + tail)
    op_time = cum[1:]
    op_time -= base[rep_customer]
    op_time *= scale[rep_customer]
    op_time += u0[rep_customer]
    del cum, base, top, scale, tail
    rep_days = np.interp(op_time, clock.cum_orders, clock.grid)
    del op_time
    rep_us = np.maximum(_to_us(clock, rep_days), customers.acquired_us[rep_customer])
    del rep_days

    # --- same-day repeat orders --------------------------------------------
    first_customer = np.arange(n, dtype=np.int32)
    base_customer = np.concatenate([first_customer, rep_customer])
    base_us = np.concatenate([customers.acquired_us, rep_us])
    del rep_customer, rep_us
    dup = np.flatnonzero(rng.random(base_us.size) < _SAME_DAY_REPEAT_PROB)
    dup_at = base_us[dup]
    day_end = (dup_at // _US_PER_DAY + 1) * _US_PER_DAY
    dup_at = (
        dup_at + 1 + np.floor(rng.random(dup.size) * 0.5 * (day_end - dup_at - 1)).astype(np.int64)
    )
    customer = np.concatenate([base_customer, base_customer[dup]])
    at_us = np.concatenate([base_us, dup_at])
    del base_customer, base_us, dup, dup_at, day_end
    n_purchases = customer.size

    # --- order attributes ----------------------------------------------------
    category = np.where(
        rng.random(n_purchases) < 0.5,
        customers.favourite_category[customer],
        _choice(rng, _CATEGORY_SHARE, n_purchases),
    )
    value = rng.gamma(_GG_P, 1.0, n_purchases)
    value /= customers.spend_rate[customer]
    value *= _CATEGORY_PRICE[category]
    amount = np.maximum(_round_cents(value), _MIN_ORDER_VALUE)
    del value
    product_rank = np.minimum(rng.zipf(1.6, n_purchases), _PRODUCTS_PER_CATEGORY)
    product = ((category + 1) * 1000 + product_rank).astype(np.int64)
    del product_rank
    quantity = 1 + rng.poisson(0.35, n_purchases)
    order_channel = np.where(
        rng.random(n_purchases) < 0.75,
        customers.preferred_order_channel[customer],
        rng.integers(0, 3, n_purchases),
    )

    # --- refunds -------------------------------------------------------------
    candidate = np.flatnonzero(rng.random(n_purchases) < _REFUND_PROB)
    lag_days = 1.0 / 24.0 + rng.gamma(2.0, 3.0, candidate.size)
    full = rng.random(candidate.size) < 0.7
    fraction = np.where(full, 1.0, rng.uniform(0.1, 0.9, candidate.size))
    refund_at = at_us[candidate] + np.floor(lag_days * _US_PER_DAY).astype(np.int64)
    keep = refund_at < horizon
    refunded_rows = candidate[keep]
    refund_at = refund_at[keep]
    fraction = fraction[keep]
    refund_amount = -np.minimum(
        np.maximum(_round_cents(amount[refunded_rows] * fraction), 0.01), amount[refunded_rows]
    )
    refund_quantity = np.clip(
        np.ceil(quantity[refunded_rows] * fraction).astype(np.int64), 1, quantity[refunded_rows]
    )
    refunded = np.zeros(n_purchases, dtype=np.bool_)
    refunded[refunded_rows] = True

    # --- assemble, number chronologically -----------------------------------
    all_at = np.concatenate([at_us, refund_at])
    order = np.argsort(all_at, kind="stable")
    all_at = all_at[order]
    all_customer = np.concatenate([customer, customer[refunded_rows]])[order]
    frame = pl.DataFrame(
        {
            "order_id": np.arange(1, order.size + 1, dtype=np.int64),
            "customer_id": all_customer.astype(np.int64) + 1,
            "ordered_at": _datetime(clock, all_at, "ordered_at"),
            "amount": np.concatenate([amount, refund_amount])[order],
            "product_id": np.concatenate([product, product[refunded_rows]])[order],
            "category": _pick(
                "category", _CATEGORIES, np.concatenate([category, category[refunded_rows]])[order]
            ),
            "quantity": np.concatenate([quantity, refund_quantity])[order].astype(np.int64),
            "channel": _pick(
                "channel",
                _ORDER_CHANNELS,
                np.concatenate([order_channel, order_channel[refunded_rows]])[order],
            ),
        }
    ).with_columns(currency=pl.lit("USD", dtype=pl.String))
    purchases = _Purchases(
        customer=customer,
        at_us=at_us,
        amount=amount,
        channel=order_channel,
        refunded=refunded,
        refund_at_us=refund_at,
    )
    return purchases, frame


def _leads(rng: np.random.Generator, clock: _Clock, customers: _Customers) -> pl.DataFrame:
    n = customers.acquired_us.size
    channel = customers.channel

    # One won lead per customer, created before the acquisition (never before start).
    mean_lag = _LEAD_LAG_DAYS[channel]
    lag_us = np.floor((5.0 / 1440.0 + rng.gamma(1.5, mean_lag / 1.5)) * _US_PER_DAY).astype(
        np.int64
    )
    fallback = np.floor(rng.random(n) * customers.acquired_us).astype(np.int64)
    won_created = customers.acquired_us - lag_us
    won_created = np.where(won_created < 0, customers.acquired_us - fallback, won_created)

    # Unconverted leads per source, to reach the source's conversion rate.
    per_source = np.bincount(channel, minlength=len(_CHANNELS))
    n_open = rng.poisson(per_source * (1.0 / _LEAD_CONVERSION - 1.0))
    open_source = np.repeat(np.arange(len(_CHANNELS)), n_open)
    open_created = _to_us(clock, _acquisition_like_times(rng, clock, open_source.size))
    age_days = (clock.horizon_us - open_created) / _US_PER_DAY
    still_open = rng.random(open_source.size) < np.exp(-age_days / 25.0)
    progress = rng.random(open_source.size) * np.minimum(age_days / 30.0, 1.0)
    open_stage = np.where(still_open, np.minimum((progress * 3).astype(np.int64), 2), 3)

    stages = ("new", "qualified", "proposal", "lost", "won")
    created = np.concatenate([won_created, open_created])
    order = np.argsort(created, kind="stable")
    won = np.concatenate([np.ones(n, dtype=np.bool_), np.zeros(open_source.size, dtype=np.bool_)])
    converted_at = np.concatenate([customers.acquired_us, open_created])
    customer_id = np.concatenate(
        [np.arange(1, n + 1, dtype=np.int64), np.zeros(open_source.size, dtype=np.int64)]
    )
    won = won[order]
    return pl.DataFrame(
        {
            "lead_id": np.arange(1, order.size + 1, dtype=np.int64),
            "created_at": _datetime(clock, created[order], "created_at"),
            "source": _pick("source", _CHANNELS, np.concatenate([channel, open_source])[order]),
            "converted_at": _nullable(_datetime(clock, converted_at[order], "converted_at"), won),
            "customer_id": _nullable(pl.Series("customer_id", customer_id[order]), won),
            "stage": _pick(
                "stage",
                stages,
                np.concatenate([np.full(n, 4, dtype=np.int64), open_stage])[order],
            ),
        }
    )


def _survey_responses(
    rng: np.random.Generator, clock: _Clock, customers: _Customers, purchases: _Purchases
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = np.flatnonzero(rng.random(purchases.customer.size) < 0.08)
    lag = np.floor((10.0 / 1440.0 + rng.exponential(1.5, rows.size)) * _US_PER_DAY).astype(np.int64)
    at = purchases.at_us[rows] + lag
    keep = at < clock.horizon_us
    rows, at = rows[keep], at[keep]
    customer = purchases.customer[rows]
    latent = (
        7.6
        - 25.0 * (customers.dropout[customer] - 0.11)
        + rng.normal(0.0, 2.0, rows.size)
        - 2.5 * purchases.refunded[rows]
    )
    score = np.clip(np.round(latent), 0, 10).astype(np.int64)
    known = rng.random(rows.size) >= 0.05
    has_comment = rng.random(rows.size) < 0.35
    personal = known & (rng.random(rows.size) < 0.4)
    nps_class = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
    comment = _templated_text(
        rng,
        "comment",
        templates=_SURVEY_TEMPLATES,
        group=nps_class,
        personal=personal,
        customer=customer,
        customers=customers,
    )
    to_feedback = has_comment & (rng.random(rows.size) < 0.5)

    order = np.argsort(at, kind="stable")
    frame = pl.DataFrame(
        {
            "response_id": np.arange(1, rows.size + 1, dtype=np.int64),
            "customer_id": _nullable(
                pl.Series("customer_id", customer[order].astype(np.int64) + 1), known[order]
            ),
            "responded_at": _datetime(clock, at[order], "responded_at"),
            "score": score[order],
            "comment": _nullable(comment.gather(order), has_comment[order]),
        }
    )
    # Half of the commented responses are also logged as "survey" feedback.
    picked = np.flatnonzero(to_feedback)
    survey_feedback = pl.DataFrame(
        {
            "customer": np.where(known[picked], customer[picked], -1).astype(np.int32),
            "at": at[picked],
            "rating": np.clip(np.ceil(score[picked] / 2.0), 1, 5).astype(np.int64),
            "text": comment.gather(picked),
        }
    )
    return frame, survey_feedback


def _feedback(
    rng: np.random.Generator,
    clock: _Clock,
    customers: _Customers,
    purchases: _Purchases,
    survey_feedback: pl.DataFrame,
) -> pl.DataFrame:
    n_purchases = purchases.customer.size
    horizon = clock.horizon_us
    dropout = customers.dropout

    # Reviews.
    rev = np.flatnonzero(rng.random(n_purchases) < 0.03)
    rev_at = purchases.at_us[rev] + np.floor(
        (1.0 / 24.0 + rng.exponential(6.0, rev.size)) * _US_PER_DAY
    ).astype(np.int64)
    keep = rev_at < horizon
    rev, rev_at = rev[keep], rev_at[keep]
    rev_customer = purchases.customer[rev]
    rev_rating = np.clip(
        np.round(
            4.1
            - 8.0 * (dropout[rev_customer] - 0.11)
            + rng.normal(0.0, 0.9, rev.size)
            - 1.5 * purchases.refunded[rev]
        ),
        1,
        5,
    ).astype(np.int64)
    rev_known = rng.random(rev.size) >= 0.10
    rev_group = np.where(rev_rating <= 2, 0, np.where(rev_rating == 3, 1, 2))
    rev_personal = rev_known & (rng.random(rev.size) < 0.3)
    rev_text = _templated_text(
        rng,
        "text",
        templates=_REVIEW_TEMPLATES,
        group=rev_group,
        personal=rev_personal,
        customer=rev_customer,
        customers=customers,
    )

    # Support contacts: most refunds (between purchase and refund) plus a few others.
    refunded_rows = np.flatnonzero(purchases.refunded)
    with_ticket = rng.random(refunded_rows.size) < 0.6
    sup_from_refund = refunded_rows[with_ticket]
    span = purchases.refund_at_us[with_ticket] - purchases.at_us[sup_from_refund]
    sup_refund_at = purchases.at_us[sup_from_refund] + np.floor(
        rng.random(sup_from_refund.size) * span
    ).astype(np.int64)
    other = np.flatnonzero(rng.random(n_purchases) < 0.005)
    other_at = purchases.at_us[other] + np.floor(
        rng.exponential(3.0, other.size) * _US_PER_DAY
    ).astype(np.int64)
    keep = other_at < horizon
    sup = np.concatenate([sup_from_refund, other[keep]])
    sup_at = np.concatenate([sup_refund_at, other_at[keep]])
    sup_customer = purchases.customer[sup]
    sup_rating = np.clip(
        np.round(3.6 - 6.0 * (dropout[sup_customer] - 0.11) + rng.normal(0.0, 1.1, sup.size)),
        1,
        5,
    ).astype(np.int64)
    sup_rated = rng.random(sup.size) < 0.4
    sup_text = _templated_text(
        rng,
        "text",
        templates=(_SUPPORT_TEMPLATES,),
        group=np.zeros(sup.size, dtype=np.intp),
        personal=rng.random(sup.size) < 0.5,
        customer=sup_customer,
        customers=customers,
    )

    # Social mentions.
    soc = np.flatnonzero(rng.random(n_purchases) < 0.005)
    soc_at = purchases.at_us[soc] + np.floor(rng.exponential(5.0, soc.size) * _US_PER_DAY).astype(
        np.int64
    )
    keep = soc_at < horizon
    soc, soc_at = soc[keep], soc_at[keep]
    soc_customer = purchases.customer[soc]
    soc_known = rng.random(soc.size) >= 0.7
    soc_text = _templated_text(
        rng,
        "text",
        templates=(_SOCIAL_TEMPLATES,),
        group=np.zeros(soc.size, dtype=np.intp),
        personal=soc_known & (rng.random(soc.size) < 0.3),
        customer=soc_customer,
        customers=customers,
    )

    sv_customer = survey_feedback.get_column("customer").to_numpy()
    customer = np.concatenate(
        [
            sv_customer,
            np.where(rev_known, rev_customer, -1),
            sup_customer,
            np.where(soc_known, soc_customer, -1),
        ]
    ).astype(np.int64)
    at = np.concatenate(
        [survey_feedback.get_column("at").to_numpy(), rev_at, sup_at, soc_at]
    ).astype(np.int64)
    channel = np.concatenate(
        [
            np.full(sv_customer.size, 0, dtype=np.intp),
            np.full(rev.size, 1, dtype=np.intp),
            np.full(sup.size, 2, dtype=np.intp),
            np.full(soc.size, 3, dtype=np.intp),
        ]
    )
    rating = np.concatenate(
        [
            survey_feedback.get_column("rating").to_numpy(),
            rev_rating,
            sup_rating,
            np.zeros(soc.size, dtype=np.int64),
        ]
    ).astype(np.int64)
    rated = np.concatenate(
        [
            np.ones(sv_customer.size + rev.size, dtype=np.bool_),
            sup_rated,
            np.zeros(soc.size, dtype=np.bool_),
        ]
    )
    text = pl.concat([survey_feedback.get_column("text"), rev_text, sup_text, soc_text])
    order = np.argsort(at, kind="stable")
    customer, rated = customer[order], rated[order]
    return pl.DataFrame(
        {
            "feedback_id": np.arange(1, order.size + 1, dtype=np.int64),
            "customer_id": _nullable(pl.Series("customer_id", customer + 1), customer >= 0),
            "created_at": _datetime(clock, at[order], "created_at"),
            "channel": _pick("channel", _FEEDBACK_CHANNELS, channel[order]),
            "rating": _nullable(pl.Series("rating", rating[order]), rated),
            "text": text.gather(order).alias("text"),
        }
    )


def _subscriptions(rng: np.random.Generator, clock: _Clock, customers: _Customers) -> pl.DataFrame:
    n = customers.acquired_us.size
    n_days = float(clock.n_days)
    subscriber = np.flatnonzero(rng.random(n) < _SUBSCRIBER_SHARE)
    at_acquisition = rng.random(subscriber.size) < 0.35
    delay = np.where(at_acquisition, 0.0, rng.exponential(25.0, subscriber.size))
    t = customers.acquired_us[subscriber] / _US_PER_DAY + delay
    t_us = np.where(
        at_acquisition,
        customers.acquired_us[subscriber],
        np.maximum(_to_us(clock, t), customers.acquired_us[subscriber]),
    )
    keep = t < n_days
    who, t, t_us = subscriber[keep], t[keep], t_us[keep]
    plan = _choice(rng, _PLAN_SHARE, who.size)

    out_customer: list[npt.NDArray[np.intp]] = []
    out_start: list[I64] = []
    out_end: list[I64] = []
    out_ended: list[Bools] = []
    out_plan: list[Codes] = []
    # A loop over the (at most 8) successive plans of every subscriber at once.
    for step in range(_SUB_STEPS):
        last = step == _SUB_STEPS - 1
        k = who.size
        h_cancel = (0.02 + 0.35 * customers.dropout[who]) / _DAYS_PER_MONTH
        h_up = np.where((plan < 2) & (not last), 0.025 / _DAYS_PER_MONTH, 0.0)
        h_down = np.where((plan > 0) & (not last), 0.012 / _DAYS_PER_MONTH, 0.0)
        h_total = h_cancel + h_up + h_down
        t_end = t + rng.exponential(1.0, k) / h_total
        ended = t_end < n_days
        end_us = np.maximum(_to_us(clock, t_end), t_us)
        out_customer.append(who)
        out_start.append(t_us)
        out_end.append(end_us)
        out_ended.append(ended)
        out_plan.append(plan)

        u = rng.random(k) * h_total
        upgrade = u < h_up
        downgrade = ~upgrade & (u < h_up + h_down)
        cancel = ~upgrade & ~downgrade
        reactivate = cancel & (rng.random(k) < 0.3) & (not last)
        gap = rng.exponential(75.0, k)
        fresh_plan = _choice(rng, _PLAN_SHARE, k)
        next_t = np.where(cancel, t_end + gap, t_end)
        next_us = np.where(cancel, np.maximum(_to_us(clock, next_t), end_us), end_us)
        next_plan = np.where(upgrade, plan + 1, np.where(downgrade, plan - 1, fresh_plan))
        go_on = ended & (~cancel | reactivate) & (next_t < n_days)
        who, t, t_us, plan = who[go_on], next_t[go_on], next_us[go_on], next_plan[go_on]
        if who.size == 0:
            break

    customer = np.concatenate(out_customer)
    start = np.concatenate(out_start)
    end = np.concatenate(out_end)
    ended_flag = np.concatenate(out_ended)
    plans = np.concatenate(out_plan)
    order = np.lexsort((customer, start))
    return pl.DataFrame(
        {
            "subscription_id": np.arange(1, order.size + 1, dtype=np.int64),
            "customer_id": customer[order].astype(np.int64) + 1,
            "started_at": _datetime(clock, start[order], "started_at"),
            "ended_at": _nullable(_datetime(clock, end[order], "ended_at"), ended_flag[order]),
            "mrr": _PLAN_MRR[plans[order]],
            "plan": _pick("plan", _PLANS, plans[order]),
        }
    )


def _web_sessions(
    rng: np.random.Generator, clock: _Clock, customers: _Customers, purchases: _Purchases
) -> pl.DataFrame:
    n = customers.acquired_us.size
    horizon = clock.horizon_us
    n_purchases = purchases.customer.size
    online = purchases.channel < 2  # web or app

    # Converted sessions: a few minutes before an online purchase.
    conv = np.flatnonzero(online & (rng.random(n_purchases) < 0.05))
    conv_pages = 3 + rng.geometric(0.25, conv.size) - 1
    conv_duration = rng.gamma(2.0 * conv_pages, 25.0)
    conv_before = np.floor(rng.random(conv.size) * conv_duration * 1e6).astype(np.int64)
    conv_at = np.maximum(purchases.at_us[conv] - conv_before, 0)
    conv_customer = purchases.customer[conv]

    # Browsing visits of customers after a purchase.
    brw = np.flatnonzero(rng.random(n_purchases) < 0.15)
    brw_at = purchases.at_us[brw] + np.floor(
        (0.02 + rng.exponential(4.0, brw.size)) * _US_PER_DAY
    ).astype(np.int64)
    keep = brw_at < horizon
    brw, brw_at = brw[keep], brw_at[keep]
    brw_customer = purchases.customer[brw]
    brw_bounce = rng.random(brw.size) < 0.35

    # Anonymous visitors.
    n_visitors = round(0.6 * n)
    per_visitor = 1 + rng.poisson(0.8, n_visitors)
    anon_visitor = np.repeat(np.arange(n_visitors, dtype=np.int64), per_visitor)
    anon_at = _to_us(clock, _acquisition_like_times(rng, clock, anon_visitor.size))
    anon_bounce = rng.random(anon_visitor.size) < 0.55

    browse = brw.size + anon_visitor.size
    bounce = np.concatenate([brw_bounce, anon_bounce])
    browse_pages = np.where(bounce, 1, 1 + rng.geometric(0.3, browse))
    browse_duration = np.where(bounce, 0.0, rng.gamma(2.0 * browse_pages, 25.0))

    visitor_ids = rng.permutation(n + n_visitors).astype(np.int64) + 1
    customer = np.concatenate([conv_customer, brw_customer]).astype(np.int64)
    visitor = np.concatenate([visitor_ids[customer], visitor_ids[n + anon_visitor]])
    n_known = customer.size
    total = n_known + anon_visitor.size
    own_channel = customers.channel[customer]
    mixed = _choice(rng, _SESSION_SOURCE_SHARE, total)
    source = np.concatenate(
        [np.where(rng.random(n_known) < 0.4, own_channel, mixed[:n_known]), mixed[n_known:]]
    )
    duration = np.concatenate([conv_duration, browse_duration])
    duration = np.round(duration, 1)
    has_duration = rng.random(total) >= 0.01

    at = np.concatenate([conv_at, brw_at, anon_at])
    order = np.argsort(at, kind="stable")
    known = np.concatenate(
        [np.ones(n_known, dtype=np.bool_), np.zeros(anon_visitor.size, np.bool_)]
    )
    customer_full = np.concatenate([customer + 1, np.zeros(anon_visitor.size, dtype=np.int64)])
    converted = np.concatenate(
        [np.ones(conv.size, dtype=np.bool_), np.zeros(browse, dtype=np.bool_)]
    )
    return pl.DataFrame(
        {
            "session_id": np.arange(1, total + 1, dtype=np.int64),
            "started_at": _datetime(clock, at[order], "started_at"),
            "visitor_id": visitor[order],
            "customer_id": _nullable(pl.Series("customer_id", customer_full[order]), known[order]),
            "source": _pick("source", _SESSION_SOURCES, source[order]),
            "pageviews": np.concatenate([conv_pages, browse_pages])[order].astype(np.int64),
            "duration_s": _nullable(pl.Series("duration_s", duration[order]), has_duration[order]),
            "converted": converted[order],
        }
    )


def _spend(rng: np.random.Generator, clock: _Clock, customers: _Customers) -> pl.DataFrame:
    n = customers.acquired_us.size
    n_days = clock.n_days
    n_channels = len(_CHANNELS)
    day = (customers.acquired_us // _US_PER_DAY).astype(np.int64)
    actual = np.bincount(day * n_channels + customers.channel, minlength=n_days * n_channels)
    actual = actual.reshape(n_days, n_channels).astype(np.float64)
    years = (np.arange(n_days) + 0.5) / _DAYS_PER_YEAR
    share = _CHANNEL_SHARE[None, :] * np.exp(_CHANNEL_TREND[None, :] * years[:, None])
    share /= share.sum(axis=1, keepdims=True)
    expected = n * clock.daily_acquisitions[:, None] * share
    cac = _CHANNEL_CAC[None, :] * (1.0 + _CAC_GROWTH_PER_YEAR * years[:, None])
    paid = np.flatnonzero(_CHANNEL_CAC > 0)

    base = (cac * (0.8 * actual + 0.2 * expected))[:, paid]
    marketing = base * rng.lognormal(0.0, 0.2, base.shape)
    sales = 0.3 * (cac * (0.5 * actual + 0.5 * expected))[:, paid]
    sales *= rng.lognormal(0.0, 0.1, sales.shape)
    weekday = np.datetime64(clock.epoch_us, "us").astype("datetime64[D]") + np.arange(n_days)
    is_weekday = ((weekday.astype(np.int64) + 3) % 7) < 5

    days = np.arange(n_days, dtype=np.int64)
    n_paid = paid.size
    m_day = np.repeat(days, n_paid)
    m_channel = np.tile(paid, n_days)
    s_day = np.repeat(days[is_weekday], n_paid)
    s_channel = np.tile(paid, int(is_weekday.sum()))
    day_all = np.concatenate([m_day, s_day])
    start_day = clock.epoch_us // _US_PER_DAY
    frame = pl.DataFrame(
        {
            "spent_at": pl.Series((day_all + start_day).astype(np.int32)).cast(pl.Date),
            "amount": _round_cents(np.concatenate([marketing.ravel(), sales[is_weekday].ravel()])),
            "channel": _pick("channel", _CHANNELS, np.concatenate([m_channel, s_channel])),
            "kind": _pick(
                "kind",
                ("marketing", "sales"),
                np.concatenate([np.zeros(m_day.size, np.intp), np.ones(s_day.size, np.intp)]),
            ),
        }
    )
    return frame.sort("spent_at", "channel", "kind", maintain_order=True)


def _campaign_stats(rng: np.random.Generator, clock: _Clock, start: date, n: int) -> pl.DataFrame:
    n_days = clock.n_days
    n_ch = len(_CAMPAIGN_CHANNELS)
    per_channel = max(1, round(n_days / 45))
    channel = np.repeat(np.arange(n_ch), per_channel)
    n_campaigns = channel.size
    first_day = np.sort(rng.integers(0, n_days, (n_ch, per_channel)), axis=1).ravel()
    length = np.minimum(rng.integers(7, 91, n_campaigns), n_days - first_day)
    weight = rng.lognormal(0.0, 0.5, n_campaigns)
    theme = rng.integers(0, len(_CAMPAIGN_THEMES), n_campaigns)
    # Campaign names: channel-YYYY-MM-theme-NNN (NNN unique within the channel).
    start_day = int(np.datetime64(start, "D").astype(np.int64))
    camp = pl.DataFrame(
        {
            "channel": _pick("channel", _CAMPAIGN_CHANNELS, channel),
            "first": pl.Series((first_day + start_day).astype(np.int32)).cast(pl.Date),
            "theme": _pick("theme", _CAMPAIGN_THEMES, theme),
            "seq": np.tile(np.arange(1, per_channel + 1), n_ch),
        }
    )
    names = camp.select(
        pl.concat_str(
            "channel",
            pl.lit("-"),
            pl.col("first").dt.strftime("%Y-%m"),
            pl.lit("-"),
            "theme",
            pl.lit("-"),
            pl.col("seq").cast(pl.String).str.zfill(3),
        )
    ).to_series()

    row_campaign = np.repeat(np.arange(n_campaigns), length)
    row_day = np.arange(row_campaign.size) - np.repeat(_segment_starts(length), length)
    row_day += first_day[row_campaign]
    row_channel = channel[row_campaign]
    share = _CHANNEL_SHARE[[_CHANNELS.index(c) for c in _CAMPAIGN_CHANNELS]]
    expected_acq = n * clock.daily_acquisitions[row_day] * share[row_channel]
    mean_impressions = (
        expected_acq
        * _CAMPAIGN_IMPRESSIONS_PER_ACQ[row_channel]
        * weight[row_campaign]
        * clock.daily_season[row_day]
        * rng.lognormal(0.0, 0.3, row_campaign.size)
    )
    impressions = rng.poisson(mean_impressions)
    ctr = np.clip(_CAMPAIGN_CTR[row_channel] * rng.lognormal(0.0, 0.2, row_campaign.size), 0, 1)
    clicks = rng.binomial(impressions, ctr)
    eng_rate = _CAMPAIGN_ENGAGEMENT[row_channel]
    engagements = rng.binomial(impressions, np.nan_to_num(eng_rate))
    reach_share = _CAMPAIGN_REACH[row_channel]
    reach = rng.binomial(impressions, np.nan_to_num(reach_share))
    frame = pl.DataFrame(
        {
            "date": pl.Series((row_day + start_day).astype(np.int32)).cast(pl.Date),
            "campaign": names.gather(row_campaign.astype(np.uint32)).alias("campaign"),
            "channel": _pick("channel", _CAMPAIGN_CHANNELS, row_channel),
            "impressions": impressions.astype(np.int64),
            "clicks": clicks.astype(np.int64),
            "engagements": _nullable(
                pl.Series("engagements", engagements.astype(np.int64)), ~np.isnan(eng_rate)
            ),
            "reach": _nullable(pl.Series("reach", reach.astype(np.int64)), ~np.isnan(reach_share)),
        }
    )
    return frame.sort("date", "campaign", maintain_order=True)
