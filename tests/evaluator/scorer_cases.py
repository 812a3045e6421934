"""Table of real-looking model responses with the verdict a careful human marker would give.

Each case: (item key, response, expected status, expected extracted answer). Expected values were
written by reading the response, not by running the scorer. Items are defined once in ``ITEMS``.
"""

from __future__ import annotations

from evaluator.types import DatasetItem

MALI = {"A": "Songhai Empire", "B": "Mali Empire", "C": "Ghana Empire", "D": "Ethiopian Empire"}
VITAMINS = {"A": "Vitamin A", "B": "Vitamin C", "C": "Vitamin D", "D": "Vitamin K"}
SETLEN = {"A": "2", "B": "3", "C": "4", "D": "It raises a TypeError"}
BINARY = {
    "A": "41", "B": "43", "C": "45", "D": "47", "E": "49",
    "F": "51", "G": "53", "H": "37", "I": "39", "J": "55",
}  # fmt: skip
MARKET = {
    "A": "A single seller",
    "B": "Significant barriers to entry",
    "C": "Firms are price takers",
    "D": "Differentiated products",
}


def _mc(item_id: str, options: dict[str, str], ref: str, question: str) -> DatasetItem:
    listing = "\n".join(f"{k}. {v}" for k, v in options.items())
    prompt = f"{question}\n\n{listing}\n\nAnswer with the letter of the correct option."
    return DatasetItem(item_id, prompt, ref, "test", "letter_match", {"options": options})


def _num(item_id: str, ref: str, **params: object) -> DatasetItem:
    return DatasetItem(item_id, f"question {item_id}", ref, "math", "numeric_match", params)


def _exact(item_id: str, ref: str, **params: object) -> DatasetItem:
    return DatasetItem(item_id, f"question {item_id}", ref, "trivia", "exact_match", params)


ITEMS: dict[str, DatasetItem] = {
    "mali": _mc("mc-011", MALI, "B", "Mansa Musa ruled which empire?"),
    "vit": _mc("mc-024", VITAMINS, "C", "Which vitamin is made in skin exposed to sunlight?"),
    "set": _mc("mc-017", SETLEN, "B", "What is len({1, 2, 2, 3}) in Python?"),
    "bin": _mc("mc-039", BINARY, "C", "What is 101101 in decimal?"),
    "market": _mc("mc-037", MARKET, "C", "Which is a feature of perfect competition?"),
    "n30": _num("math-037", "30", tolerance=1e-6, answer_type="integer"),
    "n153": _num("math-006", "153", tolerance=1e-6, answer_type="integer"),
    "frac": _num("math-023", "3/28", tolerance=1e-6, answer_type="fraction"),
    "dec": _num("math-024", "1.2", tolerance=1e-6, answer_type="decimal"),
    "pct": _num("pct-1", "75%", tolerance=1e-6, answer_type="percent"),
    "money": _num("money-1", "12.5", tolerance=1e-6, answer_type="decimal"),
    "big": _num("big-1", "1234567", tolerance=1e-9),
    "neg": _num("neg-1", "-6", tolerance=1e-6),
    "sci": _num("sci-1", "3e8", tolerance=1e-3),
    "poly": _num("poly-1", "x^2 + 2x + 1", answer_type="expression"),
    "surd": _num("surd-1", "\\frac{\\sqrt{3}}{2}", tolerance=1e-6, answer_type="expression"),
    "paris": _exact("ex-paris", "Paris"),
    "roman": _exact("ex-roman", "MCMXCIV"),
    "day": _exact("ex-day", "Thursday"),
    "mito": _exact("ex-mito", "the mitochondria", aliases=["mitochondrion"]),
    "bits": _exact("ex-bits", "1101"),
    "chat": DatasetItem(
        "chat-004", "How can I sleep better?", "Keep a regular schedule.", "health", "llm_judge", {}
    ),
}

OK, NO, UN = "correct", "incorrect", "unscored"

CASES: list[tuple[str, str, str, str | None]] = [
    # ---- multiple choice: declarations ------------------------------------------------------
    ("mali", "B", OK, "B"),
    ("mali", "B. Mali Empire", OK, "B"),
    ("mali", "B. Mali Empire\n\nMansa Musa was the ruler (mansa) of the Mali Empire.", OK, "B"),
    ("mali", "(B) Mali Empire", OK, "B"),
    ("mali", "**B**", OK, "B"),
    ("mali", "**B. Mali Empire**\n\nHe made his famous hajj in 1324.", OK, "B"),
    ("mali", "The answer is (B).", OK, "B"),
    ("mali", "The answer is B", OK, "B"),
    ("mali", "Answer: B", OK, "B"),
    ("mali", "answer: b", OK, "B"),
    ("mali", "Final answer: (b)", OK, "B"),
    ("mali", "The correct answer is B. Mali Empire.", OK, "B"),
    ("mali", "The correct option is C.", NO, "C"),
    ("mali", "$\\boxed{B}$", OK, "B"),
    ("mali", "So the answer is $\\boxed{\\text{B}}$.", OK, "B"),
    ("mali", "Mansa Musa ruled Mali.\n\n\\boxed{(B)}", OK, "B"),
    ("mali", "I choose B.", OK, "B"),
    ("mali", "I'd go with D, the Ethiopian Empire.", NO, "D"),
    ("mali", "Option B is correct: Mansa Musa ruled the Mali Empire.", OK, "B"),
    ("mali", "Thus, B is the correct answer.", OK, "B"),
    ("mali", "The answer is Mali Empire.", OK, "B"),
    ("mali", "Answer: the Ghana Empire", NO, "C"),
    ("mali", "**Answer:** B", OK, "B"),
    ("mali", "Answer - A", NO, "A"),
    (
        "mali",
        "Let me think. A could be tempting because Songhai later ruled Timbuktu, and C (Ghana) "
        "came earlier. But Mansa Musa's hajj was in 1324, under Mali.\n\nThe answer is B.",
        OK,
        "B",
    ),
    (
        "mali",
        "At first I thought the answer is A, since Songhai was huge. On reflection that is wrong: "
        "Songhai rose later. The answer is B.",
        OK,
        "B",
    ),
    (
        "mali",
        "The answer is B.\n\nWait, let me reconsider. Ghana was earlier. No - the answer is C.",
        NO,
        "C",
    ),
    ("mali", "Answer: D\n\nExplanation: the Ethiopian Empire was in East Africa.", NO, "D"),
    (
        "mali",
        "<think>A? Songhai... no, C? Ghana was earlier. It has to be Mali, B.</think>\n\nB",
        OK,
        "B",
    ),
    (
        "mali",
        "<think>Songhai is option A. Hmm. The Mali Empire is option B.</think>The answer is (B).",
        OK,
        "B",
    ),
    ("mali", "<think>Mansa Musa... that is the Mali Empire, so B. Or was it A", NO, None),
    ("mali", "Songhai? Mali? I think he ruled the Mali Empire.", OK, "B"),
    ("mali", "It was the Ghana Empire.", NO, "C"),
    ("mali", "", NO, None),
    ("mali", "   \n  ", NO, None),
    ("mali", "I'm sorry, but I can't help with that request.", NO, None),
    ("mali", "As an AI language model, I cannot answer history questions.", NO, None),
    ("mali", "I don't know.", NO, None),
    ("mali", "Mansa Musa is famous for his wealth.", NO, None),
    # ---- option lists echoed back -----------------------------------------------------------
    (
        "bin",
        "To answer this question, let's analyze each option:\n\nA. 41: This option does not fit "
        "the question.\nB. 43: This is not correct.\nC. 45: This is the correct answer.\nD. 47: "
        "This is incorrect in this context.\nE. 49: This option does not fit the question.\n\n"
        "101101 in binary is 32 + 8 + 4 + 1 = 45.\n\nThe correct answer is C. 45.",
        OK,
        "C",
    ),
    (
        "bin",
        "Let's analyze each option:\n\nA. 41: no.\nB. 43: no.\nC. 45: This is the correct answer.\n"
        "D. 47: no.",
        OK,
        "C",
    ),
    (
        "bin",
        "A. 41 - too small\nB. 43 - too small\nC. 45 - matches\nD. 47 - too big\n\n"
        "32 + 8 + 4 + 1 = 45, so the answer is C.",
        OK,
        "C",
    ),
    ("bin", "The answer is (J) 55.", NO, "J"),
    ("bin", "101101 = 32 + 8 + 4 + 1 = 45. **C**", OK, "C"),
    ("bin", "Converting: 1*32 + 0*16 + 1*8 + 1*4 + 0*2 + 1*1 = 45, which is option C.", OK, "C"),
    ("bin", "The answer is (I) 39.", NO, "I"),
    ("bin", "I think the answer is H.", NO, "H"),
    (
        "vit",
        "To answer this question, let's analyze each option:\n\nA. Vitamin A: This is the correct "
        "answer.\nB. Vitamin C: This is not correct.\nC. Vitamin D: This option does not fit the "
        "question.\nD. Vitamin K: This is not correct.\n\nVitamin A fits the description in the "
        "question better than the other choices.\n\nThe correct answer is A. Vitamin A.",
        NO,
        "A",
    ),
    ("vit", "Vitamin D is synthesised in the skin under UVB light.", OK, "C"),
    ("vit", "The answer is C (Vitamin D).", OK, "C"),
    ("vit", "UVB converts 7-dehydrocholesterol into vitamin D3. Answer: C", OK, "C"),
    ("vit", "Vitamin D. The skin makes it from sunlight.", OK, "C"),
    ("vit", "It is not Vitamin A or Vitamin K; it is Vitamin D.", OK, "C"),
    ("vit", "**C. Vitamin D**", OK, "C"),
    ("vit", "Final Answer: The final answer is C. I hope it is correct.", OK, "C"),
    ("vit", "The answer is Vitamin C.", NO, "B"),
    (
        "set",
        "To answer this question, let's analyze each option:\n\nA. 2: This is incorrect in this "
        "context.\nB. 3: This is the correct answer.\nC. 4: This is incorrect in this context.\n"
        "D. It raises a TypeError: This is not correct.\n\nA set literal drops the duplicate 2, "
        "leaving {1, 2, 3}, which has three elements.\n\nThe correct answer is B. 3.",
        OK,
        "B",
    ),
    ("set", "A set removes duplicates, so the length is 3.\n\nAnswer: B", OK, "B"),
    ("set", "The answer is 3.", OK, "B"),
    ("set", "It raises a TypeError because sets cannot hold duplicates.", NO, "D"),
    ("set", "A set keeps unique elements only. B", OK, "B"),
    ("set", "A set drops duplicates, so the set has three elements.", NO, None),
    ("market", "The answer is (C) Firms are price takers.", OK, "C"),
    ("market", "The answer is (J) Strong network effects.", NO, None),
    (
        "market",
        "A single seller describes monopoly, not perfect competition. Firms are price takers.",
        OK,
        "C",
    ),
    ("market", "In perfect competition firms are price takers, so C.", OK, "C"),
    ("market", "A monopoly has a single seller. The answer is C.", OK, "C"),
    ("market", "Answer: A", NO, "A"),
    ("market", "I think it is B because entry is hard.", NO, "B"),
    # ---- numeric: boxed, declared, last number -----------------------------------------------
    ("n30", "30", OK, "30"),
    ("n30", "The answer is 30.", OK, "30"),
    (
        "n30",
        "To solve this, gcd(10, 15) = 5, so lcm = 10 x 15 / 5 = 30.\n\nThe answer is 30.",
        OK,
        "30",
    ),
    ("n30", "The final answer is: $\\boxed{30}$", OK, "30"),
    (
        "n30",
        "## Step 1: gcd = 5\n\n## Step 2: lcm = 150/5 = 30\n\nThe final answer is: 30",
        OK,
        "30",
    ),
    ("n30", "LCM(10, 15) = 30", OK, "30"),
    ("n30", "Multiples of 10: 10, 20, 30. Multiples of 15: 15, 30. So the LCM is 30.", OK, "30"),
    ("n30", "**Answer:** 30", OK, "30"),
    ("n30", "The answer is 30.0", OK, "30"),
    ("n30", "The answer is thirty.", NO, None),
    ("n30", "The answer is 150.", NO, "150"),
    ("n30", "\\boxed{25}\n\nHmm, actually 30 is the LCM.", NO, "25"),
    ("n30", "The answer is 30 since 30 = 2 x 15.", OK, "30"),
    ("n30", "I cannot answer that.", NO, None),
    ("n30", "", NO, None),
    ("n30", "<think>10 = 2*5, 15 = 3*5, so lcm = 2*3*5 = 30</think>\n\\boxed{30}", OK, "30"),
    ("n30", "<think>lcm is 30", NO, None),
    ("n153", "Area = 17 x 9 = 153 cm².\n\nThe final answer is: $\\boxed{153}$", OK, "153"),
    ("n153", "The answer is 153 cm².", OK, "153"),
    ("n153", "The area is **153 cm^2**.", OK, "153"),
    ("n153", "The answer is $153 \\text{ cm}^2$.", OK, "153"),
    ("n153", "\\boxed{153\\,\\mathrm{cm}^2}", OK, "153"),
    ("n153", "Width = 52/2 - 17 = 9 cm, so Area = 17 × 9 = 153 cm²", OK, "153"),
    ("n153", "The area is 153 square centimetres.", OK, "153"),
    ("n153", "Answer: 135", NO, "135"),
    ("n153", "The final answer is 1,53", NO, "1"),
    ("frac", "P = (3/8) × (2/7) = 3/28.\n\nThe final answer is: $\\boxed{3/28}$", OK, "3/28"),
    ("frac", "The answer is $\\frac{3}{28}$.", OK, "3/28"),
    ("frac", "\\boxed{\\dfrac{3}{28}}", OK, "3/28"),
    ("frac", "\\boxed{\\tfrac{6}{56}}", OK, "3/28"),
    ("frac", "The probability is 6/56, which simplifies to 3/28.", OK, "3/28"),
    ("frac", "The answer is 0.107142857", OK, "0.107142857"),
    ("frac", "The answer is 0.107", NO, "0.107"),
    ("frac", "The answer is 3/27.", NO, "1/9"),
    ("frac", "\\boxed{\\frac{3}{0}}", NO, None),
    ("dec", "Combined rate = 5/6 tank per hour, so time = 6/5 hours.\n\n\\boxed{1.2}", OK, "1.2"),
    ("dec", "The answer is 6/5 hours.", OK, "1.2"),
    ("dec", "The answer is 1.2 hours (72 minutes).", OK, "1.2"),
    ("dec", "It takes 1.2 hours, i.e. 72 minutes.", NO, "72"),
    ("dec", "The final answer is: $\\boxed{2.2}$", NO, "2.2"),
    ("dec", "The answer is \\frac{6}{5}", OK, "1.2"),
    ("pct", "The answer is 75%.", OK, "75"),
    ("pct", "The answer is 75\\%.", OK, "75"),
    ("pct", "\\boxed{75\\%}", OK, "75"),
    ("pct", "3/4 of the class passed, i.e. the answer is 0.75", OK, "0.75"),
    ("pct", "The answer is 75 percent.", OK, "75"),
    ("pct", "The answer is 70%.", NO, "70"),
    ("money", "The change is $12.50.", OK, "12.5"),
    ("money", "The answer is \\$12.50", OK, "12.5"),
    ("money", "Total: 12.5 dollars. The answer is $12.5", OK, "12.5"),
    ("money", "The answer is $12.05.", NO, "12.05"),
    ("money", "The answer is USD 12.50", OK, "12.5"),
    ("big", "The answer is 1,234,567.", OK, "1234567"),
    ("big", "\\boxed{1234567}", OK, "1234567"),
    ("big", "The answer is 1 234 567.", NO, "1"),
    ("big", "The answer is 1,234,568.", NO, "1234568"),
    ("neg", "Factor: (x - 3)(x + 6) = 0, so the negative root is x = −6.\n\n\\boxed{-6}", OK, "-6"),
    ("neg", "The answer is x = -6.", OK, "-6"),
    ("neg", "The answer is −6", OK, "-6"),
    ("neg", "The answer is 6.", NO, "6"),
    ("neg", "The roots are 3 and -6; the negative one is -6", OK, "-6"),
    ("sci", "The speed of light is about 3.0 × 10^8 m/s.", OK, "300000000"),
    ("sci", "\\boxed{3 \\times 10^{8}}", OK, "300000000"),
    ("sci", "The answer is 2.998e8 m/s.", OK, "299800000"),
    ("sci", "The answer is 3e7.", NO, "30000000"),
    ("sci", "The answer is 300,000,000 m/s", OK, "300000000"),
    # ---- numeric: symbolic -------------------------------------------------------------------
    ("poly", "Expanding, (x+1)^2 = x^2 + 2x + 1.\n\n\\boxed{x^2 + 2x + 1}", OK, "x**2 + 2*x + 1"),
    ("poly", "\\boxed{(x+1)^2}", OK, "(x + 1)**2"),
    ("poly", "The answer is x^2 + 2x + 2.", NO, "x**2 + 2*x + 2"),
    ("poly", "\\boxed{x^{2}+2 x+1}", OK, "x**2 + 2*x + 1"),
    ("poly", "\\boxed{1 + 2x + x**2}", OK, "x**2 + 2*x + 1"),
    # A plain final-line expression is the answer, not its last number (numeric_match 1.1.0).
    ("poly", "x^2 + 2x + 1", OK, "x**2 + 2*x + 1"),
    ("poly", "Multiplying out:\n\nx^2 + 2x + 3", NO, "x**2 + 2*x + 3"),
    ("poly", "\\boxed{__import__('os').system('ls')}", NO, None),
    ("surd", "\\boxed{\\frac{\\sqrt{3}}{2}}", OK, "sqrt(3)/2"),
    ("surd", "The answer is $\\frac{\\sqrt 3}{2}$.", OK, "sqrt(3)/2"),
    ("surd", "sin 60° = √3/2 ≈ 0.8660254.\n\nThe final answer is 0.8660254", OK, "0.8660254"),
    ("surd", "\\boxed{\\sqrt{3}/2}", OK, "sqrt(3)/2"),
    ("surd", "\\boxed{\\frac{1}{2}}", NO, "0.5"),
    ("surd", "\\boxed{10^{10^{10}}}", NO, "10"),
    # ---- exact / normalised match ------------------------------------------------------------
    ("paris", "Paris", OK, "Paris"),
    ("paris", "paris.", OK, "paris"),
    ("paris", "**Paris**", OK, "**Paris**"),
    ("paris", "The answer is Paris.", OK, "Paris"),
    ("paris", "Final answer: PARIS", OK, "PARIS"),
    ("paris", "The capital of France is Paris.", NO, "The capital of France is Paris"),
    ("paris", "Answer: Lyon", NO, "Lyon"),
    ("paris", "\\boxed{\\text{Paris}}", OK, "\\text{Paris}"),
    ("paris", "", NO, None),
    ("paris", "I'm sorry, but I cannot answer that.", NO, "I'm sorry, but I cannot answer that"),
    ("roman", "MCMXCIV", OK, "MCMXCIV"),
    ("roman", "1994 = M + CM + XC + IV, so the answer is MCMXCIV.", OK, "MCMXCIV"),
    ("roman", "The answer is mcmxciv", OK, "mcmxciv"),
    ("roman", "The answer is MCMXCVI.", NO, "MCMXCVI"),
    ("day", "Thursday", OK, "Thursday"),
    ("day", "Ten days after Monday is Thursday.\n\nAnswer: Thursday", OK, "Thursday"),
    ("day", "Answer: thursday!", OK, "thursday!"),
    ("day", "Answer: Wednesday", NO, "Wednesday"),
    ("mito", "Mitochondria", OK, "Mitochondria"),
    ("mito", "The answer is the mitochondrion.", OK, "the mitochondrion"),
    ("mito", "The answer is: the Golgi apparatus", NO, "the Golgi apparatus"),
    ("bits", "1101", OK, "1101"),
    ("bits", "13 in binary: 8 + 4 + 1, so the answer is `1101`.", OK, "`1101`"),
    ("bits", "\\boxed{1101}", OK, "1101"),
    ("bits", "The answer is 1011.", NO, "1011"),
    # ---- open-ended without a judge ----------------------------------------------------------
    ("chat", "Keep a regular bedtime and avoid caffeine late in the day.", UN, None),
    ("chat", "", UN, None),
]
