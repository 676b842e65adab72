"""Binomial intervals and agreement statistics against published / hand-computed values."""

from __future__ import annotations

import pytest

from labelbench.reports.stats import (
    AgreementTable,
    cohen_kappa,
    gwet_ac1,
    jeffreys_interval,
    negative_agreement,
    observed_agreement,
    positive_agreement,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [  # Newcombe (1998), Stat Med 17:857, Table I, method 3 (Wilson score, no correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_table(k: int, n: int, low: float, high: float) -> None:
    ci = wilson_interval(k, n)
    assert ci is not None
    assert ci[0] == pytest.approx(low, abs=5e-5) and ci[1] == pytest.approx(high, abs=5e-5)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) is None
    assert wilson_interval(5, 5) is not None and wilson_interval(5, 5)[1] == 1.0  # type: ignore[index]
    assert wilson_interval(0, 5)[0] == 0.0  # type: ignore[index]
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(3, 2)


def test_jeffreys_interval() -> None:
    assert jeffreys_interval(0, 0) is None
    low, high = jeffreys_interval(0, 20) or (None, None)
    assert low == 0.0 and high == pytest.approx(0.1165, abs=5e-4)  # Beta(0.5, 20.5) 97.5%
    low, high = jeffreys_interval(81, 263) or (0.0, 0.0)
    assert low == pytest.approx(0.2553, abs=3e-3) and high == pytest.approx(0.3662, abs=3e-3)
    assert jeffreys_interval(7, 7)[1] == 1.0  # type: ignore[index]


def test_cohen_textbook_example() -> None:
    # 50 proposals: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # po = 0.70; pe = 0.5*0.6 + 0.5*0.4 = 0.50; kappa = 0.2/0.5 = 0.4.
    t = AgreementTable(a=20, b=5, c=10, d=15)
    assert observed_agreement(t) == pytest.approx(0.70)
    assert cohen_kappa(t) == pytest.approx(0.4)
    # AC1: pi = (0.5 + 0.6)/2 = 0.55; pe = 2*0.55*0.45 = 0.495; (0.7-0.495)/0.505
    assert gwet_ac1(t) == pytest.approx(0.205 / 0.505)
    assert positive_agreement(t) == pytest.approx(40 / 55)
    assert negative_agreement(t) == pytest.approx(30 / 45)


def test_kappa_paradox_low_prevalence() -> None:
    # Feinstein & Cicchetti (1990) second table with the rare class as "positive":
    # 85% observed agreement, but kappa only 0.32 because positives are rare.
    t = AgreementTable(a=5, b=5, c=10, d=80)
    assert observed_agreement(t) == pytest.approx(0.85)
    assert cohen_kappa(t) == pytest.approx(0.07 / 0.22)  # pe = .10*.15 + .90*.85 = .78
    assert gwet_ac1(t) == pytest.approx(0.63125 / 0.78125)  # pi = .125, pe = .21875
    assert positive_agreement(t) == pytest.approx(10 / 25)
    assert negative_agreement(t) == pytest.approx(160 / 175)


def test_kappa_low_while_ac1_high() -> None:
    # 100 days, 1 agreed positive, 2+2 disagreements: kappa 0.31, AC1 0.96.
    t = AgreementTable(a=1, b=2, c=2, d=95)
    kappa, ac1 = cohen_kappa(t), gwet_ac1(t)
    assert kappa == pytest.approx(0.0182 / 0.0582)  # pe = .03*.03 + .97*.97 = .9418
    assert ac1 == pytest.approx(0.9018 / 0.9418)  # pi = .03, pe = .0582
    assert kappa is not None and ac1 is not None and kappa < 0.35 < 0.95 < ac1
    assert positive_agreement(t) == pytest.approx(2 / 6)
    # No agreed positive at all: 98% agreement, kappa slightly negative, AC1 near 1.
    t = AgreementTable(a=0, b=1, c=1, d=98)
    assert cohen_kappa(t) == pytest.approx(-0.0002 / 0.0198)
    assert gwet_ac1(t) == pytest.approx(0.9602 / 0.9802)
    assert positive_agreement(t) == 0.0


def test_undefined_cases_and_pairs() -> None:
    empty = AgreementTable()
    assert cohen_kappa(empty) is None and gwet_ac1(empty) is None
    assert observed_agreement(empty) is None and positive_agreement(empty) is None
    all_negative = AgreementTable(d=10)
    assert cohen_kappa(all_negative) is None  # pe = 1: kappa undefined
    assert gwet_ac1(all_negative) == pytest.approx(1.0)
    assert positive_agreement(all_negative) is None
    t = AgreementTable.from_pairs([(True, True), (True, False), (False, True), (False, False)])
    assert (t.a, t.b, t.c, t.d) == (1, 1, 1, 1)
    d = t.to_dict()
    assert d["pairs"] == 4 and d["cohen_kappa"] == pytest.approx(0.0)
