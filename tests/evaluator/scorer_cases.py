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

C, I, U = "correct", "incorrect", "unscored"

CASES: list[tuple[str, str, str, str | None]] = [
    # ---- multiple choice: declarations ------------------------------------------------------
    ("mali", "B", C, "B"),
    ("mali", "B. Mali Empire", C, "B"),
    ("mali", "B. Mali Empire\n\nMansa Musa was the ruler (mansa) of the Mali Empire.", C, "B"),
    ("mali", "(B) Mali Empire", C, "B"),
    ("mali", "**B**", C, "B"),
    ("mali", "**B. Mali Empire**\n\nHe made his famous hajj in 1324.", C, "B"),
    ("mali", "The answer is (B).", C, "B"),
    ("mali", "The answer is B", C, "B"),
    ("mali", "Answer: B", C, "B"),
    ("mali", "answer: b", I, None),
    ("mali", "Final answer: (b)", C, "B"),
    ("mali", "The correct answer is B. Mali Empire.", C, "B"),
    ("mali", "The correct option is C.", I, "C"),
    ("mali", "$\\boxed{B}$", C, "B"),
    ("mali", "So the answer is $\\boxed{\\text{B}}$.", C, "B"),
    ("mali", "Mansa Musa ruled Mali.\n\n\\boxed{(B)}", C, "B"),
    ("mali", "I choose B.", C, "B"),
    ("mali", "I'd go with D, the Ethiopian Empire.", I, "D"),
    ("mali", "Option B is correct: Mansa Musa ruled the Mali Empire.", C, "B"),
    ("mali", "Thus, B is the correct answer.", C, "B"),
    ("mali", "The answer is Mali Empire.", C, "B"),
    ("mali", "Answer: the Ghana Empire", I, "C"),
    ("mali", "**Answer:** B", C, "B"),
    ("mali", "Answer - A", I, "A"),
    (
        "mali",
        "Let me think. A could be tempting because Songhai later ruled Timbuktu, and C (Ghana) "
        "came earlier. But Mansa Musa's hajj was in 1324, under Mali.\n\nThe answer is B.",
        C,
        "B",
    ),
    (
        "mali",
        "At first I thought the answer is A, since Songhai was huge. On reflection that is wrong: "
        "Songhai rose later. The answer is B.",
        C,
        "B",
    ),
    (
        "mali",
        "The answer is B.\n\nWait, let me reconsider. Ghana was earlier. No - the answer is C.",
        I,
        "C",
    ),
    ("mali", "Answer: D\n\nExplanation: the Ethiopian Empire was in East Africa.", I, "D"),
    (
        "mali",
        "<think>A? Songhai... no, C? Ghana was earlier. It has to be Mali, B.</think>\n\nB",
        C,
        "B",
    ),
    (
        "mali",
        "<think>Songhai is option A. Hmm. The Mali Empire is option B.</think>The answer is (B).",
        C,
        "B",
    ),
    ("mali", "<think>Mansa Musa... that is the Mali Empire, so B. Or was it A", I, None),
    ("mali", "Songhai? Mali? I think he ruled the Mali Empire.", C, "B"),
    ("mali", "It was the Ghana Empire.", I, "C"),
    ("mali", "", I, None),
    ("mali", "   \n  ", I, None),
    ("mali", "I'm sorry, but I can't help with that request.", I, None),
    ("mali", "As an AI language model, I cannot answer history questions.", I, None),
    ("mali", "I don't know.", I, None),
    ("mali", "Mansa Musa is famous for his wealth.", I, None),
    # ---- option lists echoed back -----------------------------------------------------------
    (
        "bin",
        "To answer this question, let's analyze each option:\n\nA. 41: This option does not fit "
        "the question.\nB. 43: This is not correct.\nC. 45: This is the correct answer.\nD. 47: "
        "This is incorrect in this context.\nE. 49: This option does not fit the question.\n\n"
        "101101 in binary is 32 + 8 + 4 + 1 = 45.\n\nThe correct answer is C. 45.",
        C,
        "C",
    ),
    (
        "bin",
        "Let's analyze each option:\n\nA. 41: no.\nB. 43: no.\nC. 45: This is the correct answer.\n"
        "D. 47: no.",
        C,
        "C",
    ),
    (
        "bin",
        "A. 41 - too small\nB. 43 - too small\nC. 45 - matches\nD. 47 - too big\n\n"
        "32 + 8 + 4 + 1 = 45, so the answer is C.",
        C,
        "C",
    ),
    ("bin", "The answer is (J) 55.", I, "J"),
    ("bin", "101101 = 32 + 8 + 4 + 1 = 45. **C**", C, "C"),
    ("bin", "Converting: 1*32 + 0*16 + 1*8 + 1*4 + 0*2 + 1*1 = 45, which is option C.", C, "C"),
    ("bin", "The answer is (I) 39.", I, "I"),
    ("bin", "I think the answer is H.", I, "H"),
    (
        "vit",
        "To answer this question, let's analyze each option:\n\nA. Vitamin A: This is the correct "
        "answer.\nB. Vitamin C: This is not correct.\nC. Vitamin D: This option does not fit the "
        "question.\nD. Vitamin K: This is not correct.\n\nVitamin A fits the description in the "
        "question better than the other choices.\n\nThe correct answer is A. Vitamin A.",
        I,
        "A",
    ),
    ("vit", "Vitamin D is synthesised in the skin under UVB light.", C, "C"),
    ("vit", "The answer is C (Vitamin D).", C, "C"),
    ("vit", "UVB converts 7-dehydrocholesterol into vitamin D3. Answer: C", C, "C"),
    ("vit", "Vitamin D. The skin makes it from sunlight.", C, "C"),
    ("vit", "It is not Vitamin A or Vitamin K; it is Vitamin D.", C, "C"),
    ("vit", "**C. Vitamin D**", C, "C"),
    ("vit", "Final Answer: The final answer is C. I hope it is correct.", C, "C"),
    ("vit", "The answer is Vitamin C.", I, "B"),
    (
        "set",
        "To answer this question, let's analyze each option:\n\nA. 2: This is incorrect in this "
        "context.\nB. 3: This is the correct answer.\nC. 4: This is incorrect in this context.\n"
        "D. It raises a TypeError: This is not correct.\n\nA set literal drops the duplicate 2, "
        "leaving {1, 2, 3}, which has three elements.\n\nThe correct answer is B. 3.",
        C,
        "B",
    ),
    ("set", "A set removes duplicates, so the length is 3.\n\nAnswer: B", C, "B"),
    ("set", "The answer is 3.", C, "B"),
    ("set", "It raises a TypeError because sets cannot hold duplicates.", I, "D"),
    ("set", "A set keeps unique elements only. B", C, "B"),
    ("set", "A set drops duplicates, so the set has three elements.", I, None),
    ("market", "The answer is (C) Firms are price takers.", C, "C"),
    ("market", "The answer is (J) Strong network effects.", I, None),
    ("market", "A single seller describes monopoly, not perfect competition. Firms are price takers.",
     C, "C"),
    ("market", "In perfect competition firms are price takers, so C.", C, "C"),
    ("market", "A monopoly has a single seller. The answer is C.", C, "C"),
    ("market", "Answer: A", I, "A"),
    ("market", "I think it is B because entry is hard.", I, "B"),
    # ---- numeric: boxed, declared, last number -----------------------------------------------
    ("n30", "30", C, "30"),
    ("n30", "The answer is 30.", C, "30"),
    ("n30", "To solve this, gcd(10, 15) = 5, so lcm = 10 x 15 / 5 = 30.\n\nThe answer is 30.", C,
     "30"),
    ("n30", "The final answer is: $\\boxed{30}$", C, "30"),
    ("n30", "## Step 1: gcd = 5\n\n## Step 2: lcm = 150/5 = 30\n\nThe final answer is: 30", C, "30"),
    ("n30", "LCM(10, 15) = 30", C, "30"),
    ("n30", "Multiples of 10: 10, 20, 30. Multiples of 15: 15, 30. So the LCM is 30.", C, "30"),
    ("n30", "**Answer:** 30", C, "30"),
    ("n30", "The answer is 30.0", C, "30"),
    ("n30", "The answer is thirty.", I, None),
    ("n30", "The answer is 150.", I, "150"),
    ("n30", "\\boxed{25}\n\nHmm, actually 30 is the LCM.", I, "25"),
    ("n30", "The answer is 30 since 30 = 2 x 15.", C, "30"),
    ("n30", "I cannot answer that.", I, None),
    ("n30", "", I, None),
    ("n30", "<think>10 = 2*5, 15 = 3*5, so lcm = 2*3*5 = 30</think>\n\\boxed{30}", C, "30"),
    ("n30", "<think>lcm is 30", I, None),
    ("n153", "Area = 17 x 9 = 153 cm².\n\nThe final answer is: $\\boxed{153}$", C, "153"),
    ("n153", "The answer is 153 cm².", C, "153"),
    ("n153", "The area is **153 cm^2**.", C, "153"),
    ("n153", "The answer is $153 \\text{ cm}^2$.", C, "153"),
    ("n153", "\\boxed{153\\,\\mathrm{cm}^2}", C, "153"),
    ("n153", "Width = 52/2 - 17 = 9 cm, so Area = 17 × 9 = 153 cm²", C, "153"),
    ("n153", "The area is 153 square centimetres.", C, "153"),
    ("n153", "Answer: 135", I, "135"),
    ("n153", "The final answer is 1,53", I, "1"),
    ("frac", "P = (3/8) × (2/7) = 3/28.\n\nThe final answer is: $\\boxed{3/28}$", C, "3/28"),
    ("frac", "The answer is $\\frac{3}{28}$.", C, "3/28"),
    ("frac", "\\boxed{\\dfrac{3}{28}}", C, "3/28"),
    ("frac", "\\boxed{\\tfrac{6}{56}}", C, "3/28"),
    ("frac", "The probability is 6/56, which simplifies to 3/28.", C, "3/28"),
    ("frac", "The answer is 0.107142857", C, "0.107142857"),
    ("frac", "The answer is 0.107", I, "0.107"),
    ("frac", "The answer is 3/27.", I, "1/9"),
    ("frac", "\\boxed{\\frac{3}{0}}", I, None),
    ("dec", "Combined rate = 5/6 tank per hour, so time = 6/5 hours.\n\n\\boxed{1.2}", C, "1.2"),
    ("dec", "The answer is 6/5 hours.", C, "1.2"),
    ("dec", "The answer is 1.2 hours (72 minutes).", C, "1.2"),
    ("dec", "It takes 1.2 hours, i.e. 72 minutes.", I, "72"),
    ("dec", "The final answer is: $\\boxed{2.2}$", I, "2.2"),
    ("dec", "The answer is \\frac{6}{5}", C, "1.2"),
    ("pct", "The answer is 75%.", C, "75"),
    ("pct", "The answer is 75\\%.", C, "75"),
    ("pct", "\\boxed{75\\%}", C, "75"),
    ("pct", "3/4 of the class passed, i.e. the answer is 0.75", C, "0.75"),
    ("pct", "The answer is 75 percent.", C, "75"),
    ("pct", "The answer is 70%.", I, "70"),
    ("money", "The change is $12.50.", C, "12.5"),
    ("money", "The answer is \\$12.50", C, "12.5"),
    ("money", "Total: 12.5 dollars. The answer is $12.5", C, "12.5"),
    ("money", "The answer is $12.05.", I, "12.05"),
    ("money", "The answer is USD 12.50", C, "12.5"),
    ("big", "The answer is 1,234,567.", C, "1234567"),
    ("big", "\\boxed{1234567}", C, "1234567"),
    ("big", "The answer is 1 234 567.", I, "1"),
    ("big", "The answer is 1,234,568.", I, "1234568"),
    ("neg", "Factor: (x - 3)(x + 6) = 0, so the negative root is x = −6.\n\n\\boxed{-6}", C, "-6"),
    ("neg", "The answer is x = -6.", C, "-6"),
    ("neg", "The answer is −6", C, "-6"),
    ("neg", "The answer is 6.", I, "6"),
    ("neg", "The roots are 3 and -6; the negative one is -6", C, "-6"),
    ("sci", "The speed of light is about 3.0 × 10^8 m/s.", C, "300000000"),
    ("sci", "\\boxed{3 \\times 10^{8}}", C, "300000000"),
    ("sci", "The answer is 2.998e8 m/s.", C, "299800000"),
    ("sci", "The answer is 3e7.", I, "30000000"),
    ("sci", "The answer is 300,000,000 m/s", C, "300000000"),
    # ---- numeric: symbolic -------------------------------------------------------------------
    ("poly", "Expanding, (x+1)^2 = x^2 + 2x + 1.\n\n\\boxed{x^2 + 2x + 1}", C, "x**2 + 2*x + 1"),
    ("poly", "\\boxed{(x+1)^2}", C, "(x + 1)**2"),
    ("poly", "The answer is x^2 + 2x + 2.", I, "x**2 + 2*x + 2"),
    ("poly", "\\boxed{x^{2}+2 x+1}", C, "x**2 + 2*x + 1"),
    ("poly", "\\boxed{1 + 2x + x**2}", C, "x**2 + 2*x + 1"),
    ("poly", "\\boxed{__import__('os').system('ls')}", I, "0"),
    ("surd", "\\boxed{\\frac{\\sqrt{3}}{2}}", C, "sqrt(3)/2"),
    ("surd", "The answer is $\\frac{\\sqrt 3}{2}$.", C, "sqrt(3)/2"),
    ("surd", "sin 60° = √3/2 ≈ 0.8660254.\n\nThe final answer is 0.8660254", C, "0.8660254"),
    ("surd", "\\boxed{\\sqrt{3}/2}", C, "sqrt(3)/2"),
    ("surd", "\\boxed{\\frac{1}{2}}", I, "0.5"),
    ("surd", "\\boxed{10^{10^{10}}}", I, "10"),
    # ---- exact / normalised match ------------------------------------------------------------
    ("paris", "Paris", C, "Paris"),
    ("paris", "paris.", C, "paris"),
    ("paris", "**Paris**", C, "**Paris**"),
    ("paris", "The answer is Paris.", C, "Paris"),
    ("paris", "Final answer: PARIS", C, "PARIS"),
    ("paris", "The capital of France is Paris.", I, "The capital of France is Paris"),
    ("paris", "Answer: Lyon", I, "Lyon"),
    ("paris", "\\boxed{\\text{Paris}}", C, "\\text{Paris}"),
    ("paris", "", I, None),
    ("paris", "I'm sorry, but I cannot answer that.", I, "I'm sorry, but I cannot answer that"),
    ("roman", "MCMXCIV", C, "MCMXCIV"),
    ("roman", "1994 = M + CM + XC + IV, so the answer is MCMXCIV.", C, "MCMXCIV"),
    ("roman", "The answer is mcmxciv", C, "mcmxciv"),
    ("roman", "The answer is MCMXCVI.", I, "MCMXCVI"),
    ("day", "Thursday", C, "Thursday"),
    ("day", "Ten days after Monday is Thursday.\n\nAnswer: Thursday", C, "Thursday"),
    ("day", "Answer: thursday!", C, "thursday!"),
    ("day", "Answer: Wednesday", I, "Wednesday"),
    ("mito", "Mitochondria", C, "Mitochondria"),
    ("mito", "The answer is the mitochondrion.", C, "the mitochondrion"),
    ("mito", "The answer is: the Golgi apparatus", I, "the Golgi apparatus"),
    ("bits", "1101", C, "1101"),
    ("bits", "13 in binary: 8 + 4 + 1, so the answer is `1101`.", C, "`1101`"),
    ("bits", "\\boxed{1101}", C, "1101"),
    ("bits", "The answer is 1011.", I, "1011"),
    # ---- open-ended without a judge ----------------------------------------------------------
    ("chat", "Keep a regular bedtime and avoid caffeine late in the day.", U, None),
    ("chat", "", U, None),
]
