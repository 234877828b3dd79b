"""Properties of the fund-security check over random requests (contracts/fund-security.md
"Response", "Order", "Pairs"): findings sorted and unique, the same whatever the input order,
equal to a brute-force reading of the contract for the pair and window rules, and the nightly
`focus` equal to filtering the full answer."""

from __future__ import annotations

import datetime as dt
from itertools import combinations, permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from medins.fund_security import parse_request, run_rules

from .builders import shipped_params

START = dt.date(2021, 3, 1)
BENEFITS = ["inpatient", "day_surgery", "outpatient_pool", "chronic", "special_disease", "two_diseases",
            "long_term_care", "maternity", "accident", "special_drug"]
KINDS = ["bed", "nursing", "meal", "drug", "exam", "treatment", "care"]


def d(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


@st.composite
def lines(draw, first: int, last: int):
    out = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(KINDS))
        row = {"date": d(draw(st.integers(first, last))), "item": draw(st.sampled_from(["X1", "X2", "BED"])),
               "kind": kind, "quantity": draw(st.integers(0, 2)), "amount": draw(st.sampled_from(["10.00", "20.00"]))}
        if kind == "drug":
            if draw(st.booleans()) or draw(st.booleans()):
                row["drug"] = draw(st.sampled_from(["D1", "D2"]))
            if draw(st.integers(0, 5)):
                row["days_supply"] = draw(st.integers(0, 40))
        out.append(row)
    return out


@st.composite
def settlements(draw, sid: str):
    benefit = draw(st.sampled_from(BENEFITS))
    s = {"id": sid, "person": draw(st.sampled_from(["P1", "P2"])), "institution": draw(st.sampled_from(["H1", "H2"])),
         "benefit": benefit, "total": "100.00", "fund": draw(st.sampled_from(["50.00", "90.00"])),
         "via": draw(st.sampled_from(["direct", "manual"]))}
    if draw(st.integers(0, 3)) == 0:
        s["invoice"] = {"issuer": "H1", "number": draw(st.sampled_from(["1", "2"]))}
    if draw(st.integers(0, 3)) == 0:
        s["third_party_paid"] = "20.00"
    if benefit in ("inpatient", "day_surgery"):
        a = draw(st.integers(0, 50))
        b = a if benefit == "day_surgery" else a + draw(st.integers(0, 8))
        s.update(admitted=d(a), discharged=d(b), transfer=draw(st.booleans()))
        if draw(st.integers(0, 4)):
            s["diagnosis"] = draw(st.sampled_from(["I63.9", "I63.1", "Z51.1", "J18"]))
        s["lines"] = draw(lines(a, b))
    else:
        day = draw(st.integers(0, 55))
        s["service_date"] = d(day)
        s["lines"] = draw(lines(day, day + (20 if benefit == "long_term_care" else 0)))
        if draw(st.integers(0, 3)):
            s["disease"] = draw(st.sampled_from(["diabetes", "hypertension"]))
            s["drug"] = "T1"
        if benefit == "maternity" and draw(st.integers(0, 3)):
            s["birth_date"] = d(draw(st.integers(0, 2)))
    return s


@st.composite
def requests(draw):
    n = draw(st.integers(0, 12))
    cert = {"benefit": "chronic", "disease": "diabetes", "institution": "H1", "from": d(10), "to": None}
    persons = [
        {"id": "P1", "covered": [[d(0), d(40)]], "grey_list": [[d(25), None], [d(20), d(30)]],
         "certifications": [cert]},
        {"id": "P2", "covered": [[d(5), None]], "died": d(45)},
    ]
    return {"region": "220100", "as_of": d(60), "persons": persons,
            "settlements": [draw(settlements(f"S{i:02d}")) for i in range(n)]}


def answer(req, **kwargs):
    return run_rules(parse_request(req), shipped_params(), **kwargs)


@settings(max_examples=100, deadline=None)
@given(requests(), st.randoms(use_true_random=False))
def test_findings_are_sorted_unique_and_independent_of_input_order(req, rnd):
    """Contract "Order" and "One finding per rule and set of settlements"."""
    outcome = answer(req)
    keys = [(f.rule, f.settlements) for f in outcome.findings]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert all(list(f.settlements) == sorted(set(f.settlements)) for f in outcome.findings)
    assert all(ids == sorted(set(ids)) and ids for ids in outcome.undecided.values())

    shuffled = {**req, "persons": rnd.sample(req["persons"], len(req["persons"])),
                "settlements": [{**s, "lines": rnd.sample(s["lines"], len(s["lines"]))}
                                for s in rnd.sample(req["settlements"], len(req["settlements"]))]}
    again = answer(shuffled)
    assert again.findings == outcome.findings and again.undecided == outcome.undecided


@settings(max_examples=100, deadline=None)
@given(requests(), st.sets(st.integers(0, 11)))
def test_focus_is_the_full_answer_filtered(req, chosen):
    """engine.run_rules: with focus, the findings holding a focus settlement and the undecided
    focus settlements, exactly as without focus."""
    focus = {f"S{i:02d}" for i in chosen}
    full, part = answer(req), answer(req, focus=focus)
    assert part.findings == [f for f in full.findings if focus & set(f.settlements)]
    expected = {rule: [i for i in ids if i in focus] for rule, ids in full.undecided.items()}
    assert part.undecided == {rule: ids for rule, ids in expected.items() if ids}


# --------------------------------------------------------------- brute force (the contract, read pairwise)


def _stays(facts):
    return [s for s in facts.settlements if s.benefit in ("inpatient", "day_surgery")]


def _stay_days(s):
    n = max((s.discharged - s.admitted).days, 1)
    return {s.admitted + dt.timedelta(days=i) for i in range(n)}


def brute_split(facts, p):
    out = set()
    for a, b in permutations(_stays(facts), 2):
        if a.person != b.person or a.institution != b.institution or a.diagnosis is None or b.diagnosis is None:
            continue
        ca, cb = a.diagnosis[:3].upper(), b.diagnosis[:3].upper()
        if (0 <= (b.admitted - a.discharged).days <= p.split_admission_days and ca == cb
                and ca not in p.planned_cycle_diagnoses and not b.transfer):
            out.add(tuple(sorted((a.id, b.id))))
    return out


def brute_overlap(facts):
    out = set()
    stays = _stays(facts)
    for a, b in combinations(stays, 2):
        if a.person == b.person and a.institution != b.institution and _stay_days(a) & _stay_days(b):
            out.add(tuple(sorted((a.id, b.id))))
    outpatient = {"outpatient_pool", "chronic", "special_disease", "special_drug", "two_diseases"}
    for o in facts.settlements:
        for t in stays:
            if o.person != t.person:
                continue
            if o.benefit == "long_term_care" and any(line.date in _stay_days(t) for line in o.lines):
                out.add(tuple(sorted((o.id, t.id))))
            if (o.benefit in outpatient and o.institution != t.institution and o.service_date in _stay_days(t)
                    and o.service_date != t.admitted):
                out.add(tuple(sorted((o.id, t.id))))
    return out


def brute_excess_window(facts, p):
    out = set()
    rows = [(s.person, line.drug, line.date, line.days_supply, s.id) for s in facts.settlements for line in s.lines
            if line.kind == "drug" and line.drug is not None and line.days_supply is not None]
    for person, drug, start, _, _ in rows:
        window = [r for r in rows if r[0] == person and r[1] == drug
                  and start <= r[2] <= start + dt.timedelta(days=p.supply_window_days - 1)]
        if sum(r[3] for r in window) > p.supply_tolerance * p.supply_window_days:
            out.add(tuple(sorted({r[4] for r in window})))
    return out


@settings(max_examples=150, deadline=None)
@given(requests())
def test_the_sweeps_find_exactly_the_pairs_of_the_contract(req):
    """Contract "Rules" read pairwise (O(n²), for the test only) equals the indexed rules."""
    facts, p = parse_request(req), shipped_params()
    got: dict[str, set] = {}
    for f in run_rules(facts, p, rules={"split_admission", "overlapping_care"}).findings:
        got.setdefault(f.rule, set()).add(f.settlements)
    assert got.get("split_admission", set()) == brute_split(facts, p)
    assert got.get("overlapping_care", set()) == brute_overlap(facts)
    # excess_prescription (b) sets; (a) adds single settlements with one line above the maximum.
    excess = {f.settlements for f in run_rules(facts, p, rules={"excess_prescription"}).findings}
    singles = {(s.id,) for s in facts.settlements for line in s.lines
               if line.kind == "drug" and line.drug is not None and line.days_supply is not None
               and line.days_supply > (p.max_days_supply_chronic if s.benefit in
                                       ("chronic", "special_disease", "special_drug", "two_diseases")
                                       else p.max_days_supply_acute)}
    assert excess == brute_excess_window(facts, p) | singles

