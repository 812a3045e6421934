"""Generate the canonical benchmark files in data/datasets/ (deterministic; run it twice, same bytes).

- ``ipwboard-demo/1.jsonl``: 60 items built from templates and exact arithmetic (``fractions``), so
  every reference answer is right by construction. Multiple choice (4 options, several domains),
  numeric (fractions, percentages, units, scientific notation, a symbolic expansion), exact-match
  short answers and open-ended items with a reference answer and a rubric. CC0-1.0.
- ``ipw-mixed/1.jsonl``: the reference harness's 120-item fixture workload, converted (ids are the ids
  inside its ``dataset_metadata``, so runs of the harness match it).

Usage: ``.venv/bin/python scripts/generate_demo_dataset.py [--only demo|ipw-mixed] [--out DIR]``
"""

from __future__ import annotations

import argparse
import random
import sys
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluator.datasets import DatasetMeta, import_harness_jsonl, write_dataset  # noqa: E402
from evaluator.types import DatasetItem  # noqa: E402

SEED = 20261101
HARNESS_JSONL = ROOT / "tests" / "fixtures" / "ipw-dataset" / "ipw_mixed_120.jsonl"

DEMO_META = DatasetMeta(
    slug="ipwboard-demo",
    version="1",
    license="CC0-1.0",
    description=(
        "IPW Board demo benchmark: 60 generated items (multiple choice, numeric, exact match, "
        "open-ended) whose references are right by construction."
    ),
    references="public",
    source="scripts/generate_demo_dataset.py (seed 20261101)",
)
MIXED_META = DatasetMeta(
    slug="ipw-mixed",
    version="1",
    license="see data/datasets/README.md (reference harness fixture)",
    description=(
        "The 120-item mixed workload of the Intelligence Per Watt reference harness fixture: "
        "46 multiple-choice, 39 numeric, 35 open-ended items."
    ),
    references="public",
    source="tests/fixtures/ipw-dataset/ipw_mixed_120.jsonl",
)

# Reference tables (IUPAC symbols; capitals as of 2026).
ELEMENTS = {
    "Na": "Sodium", "K": "Potassium", "Fe": "Iron", "Ag": "Silver", "Au": "Gold",
    "Pb": "Lead", "Sn": "Tin", "Hg": "Mercury", "Cu": "Copper", "W": "Tungsten",
}  # fmt: skip
CAPITALS = {
    "France": "Paris", "Japan": "Tokyo", "Canada": "Ottawa", "Australia": "Canberra",
    "Kenya": "Nairobi", "Egypt": "Cairo", "Norway": "Oslo", "Peru": "Lima",
    "Vietnam": "Hanoi", "Portugal": "Lisbon", "Chile": "Santiago", "Poland": "Warsaw",
}  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WORDS = ["planet", "orange", "silver", "garden", "window", "rocket", "pencil", "harbor"]
MC_SUFFIX = "\n\nAnswer with the letter of the correct option."
NUM_SUFFIX = "\n\nGive the final answer as a number."


def roman(n: int) -> str:
    table = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
             (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]  # fmt: skip
    out = []
    for value, numeral in table:
        count, n = divmod(n, value)
        out.append(numeral * count)
    return "".join(out)


def is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def frac_text(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def number_text(value: Fraction) -> str:
    """Exact decimal text for terminating fractions, else a/b."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den != 1:
        return frac_text(value)
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    assert Fraction(text) == value
    return text


class Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.items: list[DatasetItem] = []
        self.counters: dict[str, int] = {}

    def _id(self, kind: str) -> str:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return f"demo-{kind}-{self.counters[kind]:02d}"

    def mc(self, domain: str, question: str, correct: str, distractors: list[str]) -> None:
        choices = [correct, *distractors]
        assert len(set(choices)) == 4, choices
        self.rng.shuffle(choices)
        options = {letter: text for letter, text in zip("ABCD", choices, strict=True)}
        answer = next(letter for letter, text in options.items() if text == correct)
        listing = "\n".join(f"{letter}. {text}" for letter, text in options.items())
        prompt = f"{question}\n\n{listing}{MC_SUFFIX}"
        self.items.append(
            DatasetItem(
                self._id("mc"), prompt, answer, domain, "letter_match", {"options": options}
            )
        )

    def num(self, domain: str, question: str, value: Fraction | str, answer_type: str,
            tolerance: float = 1e-6) -> None:  # fmt: skip
        reference = value if isinstance(value, str) else number_text(value)
        params = {"tolerance": tolerance, "answer_type": answer_type}
        suffix = "" if answer_type in ("expression", "fraction") else NUM_SUFFIX
        self.items.append(
            DatasetItem(
                self._id("num"), question + suffix, reference, domain, "numeric_match", params
            )
        )

    def exact(self, domain: str, question: str, answer: str) -> None:
        prompt = f"{question}\n\nAnswer with the answer only."
        self.items.append(DatasetItem(self._id("exact"), prompt, answer, domain, "exact_match", {}))

    def judge(self, domain: str, question: str, reference: str, rubric: str) -> None:
        self.items.append(
            DatasetItem(
                self._id("open"), question, reference, domain, "llm_judge", {"rubric": rubric}
            )
        )


def _near(rng: random.Random, value: int, spread: int, count: int = 3) -> list[str]:
    out: set[int] = set()
    while len(out) < count:
        candidate = value + rng.choice([-1, 1]) * rng.randint(1, spread)
        if candidate != value and candidate > 0:
            out.add(candidate)
    return [str(v) for v in sorted(out)]


def multiple_choice(b: Builder) -> None:
    rng = b.rng
    for _ in range(4):
        x, y = rng.randint(12, 49), rng.randint(12, 49)
        b.mc("arithmetic", f"What is {x} × {y}?", str(x * y), _near(rng, x * y, 40))
    for _ in range(3):
        prime = rng.choice([p for p in range(40, 200) if is_prime(p)])
        composites = rng.sample([c for c in range(40, 200) if not is_prime(c) and c % 2], 3)
        b.mc(
            "number theory",
            "Which of these numbers is prime?",
            str(prime),
            [str(c) for c in composites],
        )
    for _ in range(3):
        n = rng.randint(40, 250)
        b.mc(
            "computer science",
            f"What is the binary number {n:b} in decimal?",
            str(n),
            _near(rng, n, 20),
        )
    for _ in range(3):
        km = Fraction(rng.randint(12, 95), 10)
        metres = km * 1000
        wrong = [metres / 10, metres * 10, metres / 100]
        b.mc("physics", f"How many metres are there in {number_text(km)} km?",
             f"{number_text(metres)} m", [f"{number_text(w)} m" for w in wrong])  # fmt: skip
    symbols = rng.sample(sorted(ELEMENTS), 3)
    for symbol in symbols:
        others = rng.sample([name for s, name in ELEMENTS.items() if s != symbol], 3)
        b.mc(
            "chemistry",
            f"Which element has the chemical symbol {symbol}?",
            ELEMENTS[symbol],
            others,
        )
    countries = rng.sample(sorted(CAPITALS), 4)
    for country in countries:
        others = rng.sample([c for k, c in CAPITALS.items() if k != country], 3)
        b.mc("geography", f"What is the capital of {country}?", CAPITALS[country], others)


def numeric(b: Builder) -> None:
    rng = b.rng
    for _ in range(3):
        while True:
            d1, d2 = rng.randint(2, 9), rng.randint(2, 9)
            p, q = Fraction(rng.randint(1, d1 - 1), d1), Fraction(rng.randint(1, d2 - 1), d2)
            if (p + q).denominator > 1 and p != q and p.denominator > 1 and q.denominator > 1:
                break
        b.num(
            "fractions",
            f"What is {frac_text(p)} + {frac_text(q)}? Give the answer as a fraction in lowest terms.",
            frac_text(p + q),
            "fraction",
        )
    for _ in range(3):
        pct, base = rng.choice([5, 10, 15, 20, 25, 30, 40, 75]), rng.randint(4, 60) * 20
        b.num("percentages", f"What is {pct}% of {base}?", Fraction(pct * base, 100), "decimal")
    num, den = rng.choice([(3, 8), (5, 8), (7, 16), (1, 16), (3, 40)])
    b.num("percentages", f"Express {num}/{den} as a percentage.",
          f"{number_text(Fraction(num * 100, den))}%", "percent")  # fmt: skip
    old = rng.randint(5, 40) * 20
    new = old + old * rng.choice([10, 20, 25, 50]) // 100
    b.num("percentages", f"A price rises from ${old} to ${new}. By what percentage did it rise?",
          Fraction(new - old, old) * 100, "percent")  # fmt: skip
    for _ in range(2):
        length, width = rng.randint(6, 40), rng.randint(3, 25)
        b.num("geometry", f"A rectangle is {length} cm long and {width} cm wide. What is its area in cm²?",
              Fraction(length * width), "integer")  # fmt: skip
    hours, minutes = rng.randint(1, 5), rng.randint(1, 59)
    b.num("units", f"How many seconds are there in {hours} hours and {minutes} minutes?",
          Fraction(hours * 3600 + minutes * 60), "integer")  # fmt: skip
    kmh = rng.choice([18, 36, 54, 72, 90, 108])
    b.num(
        "units", f"Convert {kmh} km/h to metres per second.", Fraction(kmh * 1000, 3600), "decimal"
    )
    for _ in range(2):
        speed, time_h = rng.randint(40, 110), Fraction(rng.randint(3, 14), 4)
        b.num("rates", f"A train travels at {speed} km/h for {number_text(time_h)} hours. How many kilometres does it cover?",
              speed * time_h, "decimal")  # fmt: skip
    for _ in range(2):
        a, x = rng.randint(2, 9), rng.randint(-12, 15)
        c = rng.randint(1, 30)
        b.num("algebra", f"Solve for x: {a}x + {c} = {a * x + c}.", Fraction(x), "integer")
    price, count = Fraction(rng.randint(101, 1999), 4 * 25), rng.randint(3, 9)
    b.num("finance", f"One ticket costs ${float(price):.2f}. How much do {count} tickets cost in dollars?",
          price * count, "decimal")  # fmt: skip
    m1, e1, m2, e2 = rng.randint(2, 9), rng.randint(3, 8), rng.randint(2, 9), rng.randint(2, 6)
    product = m1 * m2 * 10 ** (e1 + e2)
    b.num("science", f"What is ({m1} × 10^{e1}) × ({m2} × 10^{e2})? Use scientific notation if you like.",
          f"{m1 * m2}e{e1 + e2}", "scientific", tolerance=1e-9)  # fmt: skip
    assert Fraction(f"{m1 * m2}e{e1 + e2}") == product
    for _ in range(2):
        p, q = rng.randint(1, 9), rng.randint(1, 9)
        b.num("algebra", f"Expand (x + {p})(x + {q}). Give the result as a polynomial in x.",
              f"x^2 + {p + q}x + {p * q}", "expression")  # fmt: skip


def exact(b: Builder) -> None:
    rng = b.rng
    for word in rng.sample(WORDS, 2):
        b.exact("language", f"Write the word '{word}' backwards.", word[::-1])
    for year in (rng.randint(1900, 2030), rng.randint(1400, 1899)):
        b.exact("numerals", f"Write {year} in Roman numerals.", roman(year))
    for _ in range(2):
        start, days = rng.randrange(7), rng.randint(3, 40)
        b.exact("calendar", f"What day of the week is it {days} days after a {WEEKDAYS[start]}?",
                WEEKDAYS[(start + days) % 7])  # fmt: skip
    n = rng.randint(9, 60)
    b.exact("computer science", f"Write {n} in binary (digits only).", f"{n:b}")
    letters = "".join(rng.sample("bcdfghjklmnp", 5))
    b.exact("language", f"Sort the letters '{letters}' alphabetically.", "".join(sorted(letters)))
    used = set()
    for country in rng.sample(sorted(CAPITALS), 2):
        used.add(country)
        b.exact("geography", f"What is the capital city of {country}?", CAPITALS[country])


def open_ended(b: Builder) -> None:
    rng = b.rng
    for _ in range(2):
        length, width = rng.randint(3, 30), rng.randint(2, 20)
        b.judge(
            "geometry",
            f"Explain how to find the area of a rectangular room {length} m long and {width} m wide, "
            "and give the area.",
            f"Multiply the length by the width: {length} m × {width} m = {length * width} m².",
            f"States that area = length × width and gives {length * width} square metres.",
        )
    for _ in range(2):
        kmh = rng.choice([36, 72, 90, 126])
        ms = Fraction(kmh * 1000, 3600)
        b.judge(
            "physics",
            f"Explain how to convert a speed of {kmh} km/h into metres per second, and give the result.",
            f"One km is 1000 m and one hour is 3600 s, so multiply by 1000/3600: "
            f"{kmh} × 1000 / 3600 = {number_text(ms)} m/s.",
            f"Explains the factor 1000/3600 (or divides by 3.6) and gives {number_text(ms)} m/s.",
        )
    for _ in range(2):
        n = rng.choice([c for c in range(91, 400) if not is_prime(c) and c % 2 and c % 5])
        factor = next(d for d in range(3, n) if n % d == 0)
        b.judge(
            "number theory",
            f"Is {n} a prime number? Explain your reasoning.",
            f"No. {n} = {factor} × {n // factor}, so it has a divisor other than 1 and itself.",
            f"Says {n} is not prime and shows a factorisation or divisor such as {factor}.",
        )
    for _ in range(2):
        values = [*sorted(rng.sample(range(1, 40), 4)), rng.randint(80, 150)]
        mean = Fraction(sum(values), len(values))
        median = values[2]
        b.judge(
            "statistics",
            f"For the data {values}, compute the mean and the median and explain why they differ.",
            f"The mean is {sum(values)}/5 = {number_text(mean)} and the median is {median}. The "
            f"outlier {values[-1]} pulls the mean up, while the median (the middle value) ignores it.",
            f"Gives mean {number_text(mean)} and median {median} and attributes the gap to the "
            "large outlier.",
        )
    for _ in range(2):
        principal, rate, years = (
            rng.choice([1000, 2000, 5000]),
            rng.choice([2, 4, 5, 10]),
            rng.randint(2, 3),
        )
        amount = Fraction(principal) * Fraction(100 + rate, 100) ** years
        b.judge(
            "finance",
            f"Explain compound interest using ${principal} invested at {rate}% per year, compounded "
            f"yearly, for {years} years. What is the final amount?",
            f"Each year the balance is multiplied by 1.{rate:02d}: {principal} × 1.{rate:02d}^{years} = "
            f"${number_text(amount)}. Interest is earned on previous interest, unlike simple interest.",
            f"Explains interest on interest and gives ${float(amount):.2f} (exactly {number_text(amount)}).",
        )


def build_demo(seed: int = SEED) -> list[DatasetItem]:
    builder = Builder(seed)
    multiple_choice(builder)
    numeric(builder)
    exact(builder)
    open_ended(builder)
    return builder.items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["demo", "ipw-mixed"])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "datasets")
    args = parser.parse_args(argv)
    if args.only in (None, "demo"):
        sha = write_dataset(args.out / "ipwboard-demo" / "1.jsonl", DEMO_META, build_demo())
        print(f"ipwboard-demo/1.jsonl  sha256 {sha}")
    if args.only in (None, "ipw-mixed"):
        mixed = import_harness_jsonl(
            HARNESS_JSONL,
            MIXED_META.slug,
            MIXED_META.version,
            license=MIXED_META.license,
            description=MIXED_META.description,
            source=MIXED_META.source,
        )
        sha = write_dataset(args.out / "ipw-mixed" / "1.jsonl", MIXED_META, mixed.items)
        assert sha == mixed.sha256
        print(f"ipw-mixed/1.jsonl      sha256 {sha}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
