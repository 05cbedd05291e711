#!/usr/bin/python3
"""Builds a small training corpus with numbers from installed Debian packages.

Sources (nothing is downloaded):
  dict-gcide     /usr/share/dictd/gcide.{index,dict.dz}     1913 Webster entries -> text documents
  dict-elements  /usr/share/dictd/elements.{index,dict.dz}  chemical elements -> templated facts
  units          the GNU `units` program                    unit conversion factors -> sentences

Writes to --out: train.jsonl, validation.jsonl ({"text": ...} documents, a shuffled mix of the
three kinds), heldout_text.jsonl (dictionary entries of held-out headwords, for perplexity),
eval_elements.jsonl and eval_units.jsonl ({"prompt": ..., "value": ...} for elements and unit
pairs that never occur in training), eval_units_seen.jsonl (seen pairs, fresh magnitudes) and
manifest.json. Every number written is a plain ASCII decimal (no exponent, no thousands
separator, no leading ".") so the tokenizer reads it as one <NUM>.

Deterministic: the same arguments give byte-identical files (seeded random.Random streams,
sorted iteration, no time stamps, no paths in the output).

Usage: /usr/bin/python3 scripts/build_corpus.py --out DIR [--seed 1] [--dictionary-mb 12]
       [--unit-sentences 60000] [--element-sentences 20000]
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from random import Random

DICTD = "/usr/share/dictd"
UNITS_FILE = "/usr/share/units/definitions.units"
PACKAGES = ("dict-gcide", "dict-elements", "units")

VALIDATION_FRACTION = 0.02
HELDOUT_HEADWORD_FRACTION = 0.01
HELDOUT_ELEMENT_EVERY = 7
HELDOUT_PAIR_FRACTION = 0.15
MIN_ENTRY_CHARS = 40
FACTOR_RANGE = (Decimal("1e-6"), Decimal("1e6"))
# Answers outside this range would need long digit strings; such magnitudes are redrawn.
ANSWER_RANGE = (Decimal("1e-4"), Decimal("1e9"))
PROMPTS_PER_HELDOUT_PAIR = 4


def fail(message):
    sys.exit(f"build_corpus.py: {message}")


def rng_for(seed, purpose):
    # Separate streams so that changing one size argument leaves the held-out sets unchanged.
    return Random(f"{seed}/{purpose}")


# ---------------------------------------------------------------------------------------------
# Numbers


def plain(d):
    """A Decimal as a plain decimal string without exponent or trailing zeros."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def round_sig(d, digits=4):
    if d == 0:
        return Decimal(0)
    return d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_HALF_UP)


def draw_magnitude(rng):
    """Mostly integers from 1 to 1000 with 1 to 3 significant digits, sometimes decimals like 2.5."""
    if rng.random() < 0.75:
        width = rng.choices((1, 2, 3, 4), weights=(3, 4, 4, 1))[0]
        sig = rng.randint(1, min(width, 3))
        mantissa = rng.randint(10 ** (sig - 1), 10**sig - 1)
        return plain(Decimal(mantissa).scaleb(width - sig))
    sig = rng.choice((1, 2, 2, 3))
    places = rng.choice((1, 1, 2)) if sig > 1 else 1
    mantissa = rng.randint(10 ** (sig - 1), 10**sig - 1)
    while mantissa % 10 == 0:
        mantissa = rng.randint(10 ** (sig - 1), 10**sig - 1)
    return plain(Decimal(mantissa).scaleb(-places))


# ---------------------------------------------------------------------------------------------
# dictd files

B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def b64_number(text):
    value = 0
    for c in text:
        value = value * 64 + B64[c]
    return value


def decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_dictd(name):
    """[(headwords sorted, text)] in file order; one item per distinct (offset, length)."""
    index_path = os.path.join(DICTD, name + ".index")
    data_path = os.path.join(DICTD, name + ".dict.dz")
    for path in (index_path, data_path):
        if not os.path.exists(path):
            fail(f"{path} is missing (install the Debian package dict-{name})")
    with gzip.open(data_path, "rb") as f:
        data = f.read()
    headwords = {}
    with open(index_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                continue
            key = (b64_number(fields[1]), b64_number(fields[2]))
            headwords.setdefault(key, set()).add(fields[0])
    entries = []
    for key in sorted(headwords):
        words = sorted(headwords[key])
        if any(w.startswith("00-") or w.startswith("00database") for w in words):
            continue  # dictd metadata (00-database-info, ...)
        offset, length = key
        entries.append((words, decode(data[offset : offset + length])))
    return entries


# ---------------------------------------------------------------------------------------------
# Dictionary cleaning

# Pronunciation `\Ab"a*cus\`, optionally followed by a respelling like `(k[a^]l"s[i^]*[u^]m)`.
PRONUNCIATION = re.compile(r"[ \t]*\\[^\\]{1,150}\\(?:[ \t]*\([^()\n]*?[\[\]\"*`][^()\n]*?\))?")
NAMED_ENTITIES = {
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "deg": "°", "root": "√", "sect": "§",
    "thorn": "þ", "eth": "ð", "yogh": "ȝ", "pounds": "£", "imac": "ī", "frac12": "½",
    "frac14": "¼", "frac34": "¾", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ",
    "epsilon": "ε", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "sigma": "σ",
    "omega": "ω", "prime": "′", "bprime": "″", "cced": "ç", "ntil": "ñ", "aum": "ä",
}  # fmt: skip
# gcide's accent marks: ['e] é, [=a] ā, [*a] å (Sw. [*a]ker), [a^] ă (breve, handled apart).
COMBINING = {"'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303",
             ",": "\u0327", "=": "\u0304", "*": "\u030a"}  # fmt: skip
ENTITY = re.compile(r"\[(?:([A-Za-z]+[0-9]*)|([`'\"^~,=*])([A-Za-z]|ae|oe)|([A-Za-z])\^)\]")
# Respelling of a derived form, e.g. "(r[=a]`d[i^]*[-o]*gr[a^]f"[i^]k)" or "(j[i^]m*n[=a]"z[i^]*[u^]m; 277)":
# no spaces, no "." or braces outside entities (so "(Zo["o]l.)" and "(cnid[ae])" stay), and
# syllable marks or pronunciation-only signs.
RESPELLING = re.compile(
    r"[ \t]*(?:(?<!\n)\n)?[ \t]*\((?![A-Z])(?=[^()\s]*(?:[*\"`]|\[(?:[a-z]\^|[-=~.^'`\"*,][a-z]{1,2}|imac|aum|ng|th|asl|add|udd)\]))"
    r"(?:\[[^\]\s]+\]|[^()\s.{}\[\]])+(?:;[ \t]*\d+)?\)"
)
# Syllable and stress marks inside a word: "ra`di*o*graph"ic" -> "radiographic".
SYLLABLE_MARK = re.compile(r"(?<=[A-Za-z\]])[*`\"](?=[A-Za-z\[])")


def replace_entity(match):
    name, mark, base, breve_base = match.groups()
    if name is not None:
        return NAMED_ENTITIES.get(name, match.group(0))
    if breve_base is not None:
        return breve_base + "\u0306"
    return NAMED_ENTITIES[base] + COMBINING[mark] if len(base) == 2 else base + COMBINING[mark]


def clean_entry(words, text):
    lines = text.strip("\n").split("\n")
    lowered = {w.lower() for w in words}
    if len(lines) > 1 and lines[0].strip().lower() in lowered:
        lines = lines[1:]  # dictd's copy of the headword on a line of its own
    text = SYLLABLE_MARK.sub("", RESPELLING.sub("", PRONUNCIATION.sub("", "\n".join(lines))))
    text = ENTITY.sub(replace_entity, text).replace("{", "").replace("}", "")
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", text))
    return unicodedata.normalize("NFC", "\n".join(p for p in paragraphs if p))


# ---------------------------------------------------------------------------------------------
# Elements

# Other spellings of element names, so that a held-out element's facts do not reach training
# through the dictionary.
ELEMENT_ALIASES = {
    "aluminum": ["aluminium"], "caesium": ["cesium"], "sulphur": ["sulfur"],
    "tungsten": ["wolfram"], "niobium": ["columbium"], "copper": ["cuprum"],
}  # fmt: skip


def read_elements():
    elements = {}
    for words, text in read_dictd("elements"):
        symbol = re.search(r"^Symbol:[ \t]*(\S+)[ \t]*$", text, re.M)
        number = re.search(r"^Atomic number:[ \t]*(\d+)[ \t]*$", text, re.M)
        weight = re.search(r"^At\w*ic [Ww]eight:[ \t]*\(?(\d+(?:\.\d+)?)\)?\??[ \t]*$", text, re.M)
        if not (symbol and number and weight):
            continue  # aliases, competing names, isotopes, particles
        lines = text.strip("\n").split("\n")
        name = lines[0].strip().lower()
        body = [ln for ln in lines[1:] if not re.match(r"^(Symbol|Atomic number|At\w*ic [Ww]eight):", ln)]
        description = " ".join(" ".join(body).replace("{", "").replace("}", "").split())
        z = int(number.group(1))
        element = {
            "name": name,
            "symbol": symbol.group(1),
            "number": z,
            "weight": plain(Decimal(weight.group(1)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
            "description": unicodedata.normalize("NFC", description),
        }
        # Two entries share number 110 (darmstadtium, unnildecium): keep the first name.
        if z not in elements or name < elements[z]["name"]:
            elements[z] = element
    if not elements:
        fail("no elements parsed from dict-elements")
    return [elements[z] for z in sorted(elements)]


def json_number(text):
    return int(text) if text.isdigit() else float(text)


def capitalized(name):
    return name[:1].upper() + name[1:]


# Each template: (text, answer field or None). Eval prompts are the text before the answer.
ELEMENT_TEMPLATES = (
    ("{N} ({S}) has atomic number {Z} and atomic weight {W}.", "W"),
    ("{N} ({S}) has atomic weight {W} and atomic number {Z}.", "Z"),
    ("Element number {Z} is {n} ({S}), with atomic weight {W}.", "W"),
    ("{N} has atomic number {Z}; its atomic weight is {W}.", "W"),
    ("An atom of {n} (atomic weight {W}) has atomic number {Z}.", "Z"),
    ("The element with symbol {S} is {n}, number {Z}.", None),
    ("{N}: symbol {S}, atomic number {Z}, atomic weight {W}.", None),
    ("The symbol of {n} is {S}, and its atomic number is {Z}.", None),
)
ELEMENT_TEMPLATE_WEIGHTS = (4, 3, 2, 2, 2, 2, 1, 1)


def element_fields(element):
    return {"N": capitalized(element["name"]), "n": element["name"], "S": element["symbol"],
            "Z": str(element["number"]), "W": element["weight"]}  # fmt: skip


def element_prompts(element):
    fields = element_fields(element)
    prompts = []
    for template, answer in ELEMENT_TEMPLATES:
        if answer is None:
            continue
        prefix = template[: template.index("{" + answer + "}")].rstrip()
        prompts.append({"prompt": prefix.format(**fields), "value": json_number(fields[answer])})
    return prompts


def weighted_sample(rng, items, weights, count):
    """`count` distinct items, drawn one by one with probability proportional to their weight."""
    items, weights, chosen = list(items), list(weights), []
    for _ in range(count):
        i = rng.choices(range(len(items)), weights=weights)[0]
        chosen.append(items.pop(i))
        weights.pop(i)
    return chosen


def element_documents(elements, count, rng):
    documents = []
    remaining = count
    while remaining > 0:
        element = rng.choice(elements)
        fields = element_fields(element)
        size = min(rng.randint(1, 4), remaining)
        remaining -= size
        templates = weighted_sample(rng, range(len(ELEMENT_TEMPLATES)), ELEMENT_TEMPLATE_WEIGHTS, size)
        text = " ".join(ELEMENT_TEMPLATES[t][0].format(**fields) for t in templates)
        if element["description"] and rng.random() < 0.3:
            text = text + "\n" + element["description"] if rng.random() < 0.5 else element["description"] + "\n" + text
        documents.append(text)
    return documents


# ---------------------------------------------------------------------------------------------
# Units: (singular, plural, spelling for `units`), grouped by dimension.

UNITS = {
    "length": [
        ("inch", "inches", "inch"), ("foot", "feet", "foot"), ("yard", "yards", "yard"),
        ("mile", "miles", "mile"), ("meter", "meters", "meter"),
        ("centimeter", "centimeters", "centimeter"), ("kilometer", "kilometers", "kilometer"),
        ("millimeter", "millimeters", "millimeter"),
        ("nautical mile", "nautical miles", "nauticalmile"), ("furlong", "furlongs", "furlong"),
        ("fathom", "fathoms", "fathom"),
    ],
    "mass": [
        ("gram", "grams", "gram"), ("kilogram", "kilograms", "kilogram"),
        ("milligram", "milligrams", "milligram"), ("pound", "pounds", "pound"),
        ("ounce", "ounces", "ounce"), ("ton", "tons", "shortton"), ("tonne", "tonnes", "tonne"),
        ("grain", "grains", "grain"), ("stone", "stone", "stone"), ("carat", "carats", "carat"),
    ],
    "volume": [
        ("liter", "liters", "liter"), ("milliliter", "milliliters", "milliliter"),
        ("gallon", "gallons", "usgallon"), ("quart", "quarts", "usquart"),
        ("pint", "pints", "uspint"), ("cup", "cups", "uscup"),
        ("fluid ounce", "fluid ounces", "usfloz"), ("tablespoon", "tablespoons", "ustablespoon"),
        ("teaspoon", "teaspoons", "usteaspoon"), ("cubic meter", "cubic meters", "m^3"),
        ("cubic centimeter", "cubic centimeters", "cm^3"), ("cubic foot", "cubic feet", "ft^3"),
        ("cubic inch", "cubic inches", "in^3"),
    ],
    "time": [
        ("second", "seconds", "second"), ("millisecond", "milliseconds", "millisecond"),
        ("minute", "minutes", "minute"), ("hour", "hours", "hour"), ("day", "days", "day"),
        ("week", "weeks", "week"), ("fortnight", "fortnights", "fortnight"),
        ("year", "years", "year"), ("decade", "decades", "decade"),
        ("century", "centuries", "century"),
    ],
    "area": [
        ("acre", "acres", "acre"), ("hectare", "hectares", "hectare"),
        ("square meter", "square meters", "m^2"), ("square kilometer", "square kilometers", "km^2"),
        ("square foot", "square feet", "ft^2"), ("square inch", "square inches", "in^2"),
        ("square yard", "square yards", "yd^2"), ("square mile", "square miles", "mile^2"),
    ],
    "speed": [
        ("kilometer per hour", "kilometers per hour", "km/hr"),
        ("mile per hour", "miles per hour", "mile/hr"), ("knot", "knots", "knot"),
        ("meter per second", "meters per second", "m/s"),
        ("foot per second", "feet per second", "ft/s"),
    ],
    "energy": [
        ("joule", "joules", "joule"), ("kilojoule", "kilojoules", "kilojoule"),
        ("calorie", "calories", "calorie"), ("kilocalorie", "kilocalories", "kilocalorie"),
        ("watt hour", "watt hours", "watt hour"), ("kilowatt hour", "kilowatt hours", "kWh"),
        ("BTU", "BTU", "btu"),
    ],
    "pressure": [
        ("pascal", "pascals", "pascal"), ("kilopascal", "kilopascals", "kilopascal"),
        ("atmosphere", "atmospheres", "atm"), ("bar", "bar", "bar"),
        ("millibar", "millibars", "millibar"), ("psi", "psi", "psi"), ("torr", "torr", "torr"),
        ("millimeter of mercury", "millimeters of mercury", "mmHg"),
    ],
}  # fmt: skip


def units_command():
    if not os.path.exists(UNITS_FILE):
        fail(f"{UNITS_FILE} is missing (install the Debian package units)")
    return ["units", "-f", UNITS_FILE, "-t", "-d", "12"]


def units_environment():
    # No personal units file, fixed locale and US definitions of gallon etc.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": "/nonexistent",
            "UNITS_ENGLISH": "US"}  # fmt: skip


def run_units(arguments, stdin=None):
    try:
        result = subprocess.run(units_command() + arguments, input=stdin, capture_output=True, text=True,
                                env=units_environment(), check=False)  # fmt: skip
    except FileNotFoundError:
        fail("the `units` program is missing (install the Debian package units)")
    return result


def unit_factors(pairs):
    """Factor of each (from spelling, to spelling), from one `units` process reading stdin."""
    query = "".join(f"{a}\n{b}\n" for a, b in pairs)
    lines = run_units([], stdin=query).stdout.split("\n")
    factors = []
    for i, (a, b) in enumerate(pairs):
        try:
            factors.append(Decimal(lines[i].strip()))
        except (IndexError, ArithmeticError):
            fail(f"`units` gave no factor for {a!r} -> {b!r} (answer {lines[i:i + 1]!r})")
    return factors


def check_units():
    for dimension, units in sorted(UNITS.items()):
        first = units[0][2]
        for _, _, spelling in units:
            result = run_units([spelling, first])
            if result.returncode != 0 or "error" in result.stdout + result.stderr or "Unknown" in result.stdout:
                fail(f"`units` does not convert {spelling!r} to {first!r} ({dimension}): {result.stdout.strip()}")


def unit_pairs():
    """[(dimension, unit a, unit b, factor)] for ordered pairs with a factor in FACTOR_RANGE."""
    check_units()
    candidates = []
    for dimension in sorted(UNITS):
        for a in UNITS[dimension]:
            for b in UNITS[dimension]:
                if a != b:
                    candidates.append((dimension, a, b))
    factors = unit_factors([(a[2], b[2]) for _, a, b in candidates])
    pairs = [(d, a, b, f) for (d, a, b), f in zip(candidates, factors) if FACTOR_RANGE[0] <= f <= FACTOR_RANGE[1]]
    return pairs, len(candidates) - len(pairs)


def conversion(pair, rng, avoid=()):
    """(magnitude, answer) for a pair, the answer within ANSWER_RANGE and the magnitude not in avoid."""
    factor = pair[3]
    for _ in range(1000):
        magnitude = draw_magnitude(rng)
        answer = round_sig(Decimal(magnitude) * factor)
        if ANSWER_RANGE[0] <= answer < ANSWER_RANGE[1] and magnitude not in avoid:
            return magnitude, plain(answer)
    fail(f"no magnitude found for {pair[1][0]} -> {pair[2][0]}")


def name(unit, number):
    return unit[0] if number == "1" else unit[1]


def unit_prompt(pair, magnitude):
    _, a, b, _ = pair
    return f"{magnitude} {name(a, magnitude)} in {b[1]} is"


def unit_sentence(pair, rng, used):
    _, a, b, factor = pair
    style = rng.choices(("in", "converted", "equal", "one", "there are"), weights=(4, 2, 2, 1, 1))[0]
    if style == "one":
        answer = plain(round_sig(factor))
        used.add("1")
        return f"One {a[0]} is {answer} {name(b, answer)}."
    magnitude, answer = conversion(pair, rng)
    used.add(magnitude)
    what = f"{magnitude} {name(a, magnitude)}"
    if style == "in":
        return f"{unit_prompt(pair, magnitude)} {answer}."
    if style == "converted":
        return f"Converted to {b[1]}, {what} is {answer} {name(b, answer)}."
    if style == "equal":
        return f"{what} {'equals' if magnitude == '1' else 'equal'} {answer} {name(b, answer)}."
    return f"There are {answer} {name(b, answer)} in {what}."


def unit_documents(pairs, count, rng):
    used = {pair_key(p): set() for p in pairs}
    documents = []
    remaining = count
    while remaining > 0:
        size = min(rng.randint(1, 4), remaining)
        remaining -= size
        sentences = []
        for _ in range(size):
            pair = rng.choice(pairs)
            sentences.append(unit_sentence(pair, rng, used[pair_key(pair)]))
        documents.append(" ".join(sentences))
    return documents, used


def pair_key(pair):
    return (pair[1][0], pair[2][0])


# ---------------------------------------------------------------------------------------------


def package_version(package):
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        fail(f"Debian package {package} is not installed")
    return result.stdout.strip()


def jsonl(objects):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dictionary-mb", type=float, default=12.0,
                        help="UTF-8 megabytes (10^6 bytes) of dictionary text in train+validation")  # fmt: skip
    parser.add_argument("--unit-sentences", type=int, default=60000)
    parser.add_argument("--element-sentences", type=int, default=20000)
    args = parser.parse_args()
    seed = args.seed
    versions = {p: package_version(p) for p in PACKAGES}

    # Elements: whole elements held out.
    elements = read_elements()
    heldout_count = max(1, round(len(elements) / HELDOUT_ELEMENT_EVERY))
    heldout_numbers = set(rng_for(seed, "heldout-elements").sample([e["number"] for e in elements], heldout_count))
    seen_elements = [e for e in elements if e["number"] not in heldout_numbers]
    heldout_elements = [e for e in elements if e["number"] in heldout_numbers]
    eval_elements = [p for e in heldout_elements for p in element_prompts(e)]

    # Units: whole unordered pairs held out, both directions together.
    pairs, out_of_range = unit_pairs()
    unordered = sorted({tuple(sorted(pair_key(p))) for p in pairs})
    heldout_unordered = set(rng_for(seed, "heldout-pairs").sample(unordered, round(len(unordered) * HELDOUT_PAIR_FRACTION)))
    heldout_pairs = [p for p in pairs if tuple(sorted(pair_key(p))) in heldout_unordered]
    seen_pairs = [p for p in pairs if tuple(sorted(pair_key(p))) not in heldout_unordered]

    # Dictionary: headwords held out; entries that state a held-out element's atomic facts dropped.
    leak_names = sorted({n for e in heldout_elements for n in [e["name"]] + ELEMENT_ALIASES.get(e["name"], [])})
    leak_name = re.compile(r"\b(?:" + "|".join(map(re.escape, leak_names)) + r")\b", re.I)
    atomic_fact = re.compile(r"\batomic\s+(?:weight|number|wt)", re.I)
    entries = read_dictd("gcide")
    headwords = sorted({w.lower() for words, _ in entries for w in words})
    heldout_headwords = set(rng_for(seed, "heldout-headwords").sample(headwords, round(len(headwords) * HELDOUT_HEADWORD_FRACTION)))
    dictionary_pool, heldout_text, leaks = [], [], 0
    for words, raw in entries:
        lowered = {w.lower() for w in words}
        if lowered & set(leak_names) or (atomic_fact.search(raw) and leak_name.search(raw)):
            leaks += 1
        elif lowered & heldout_headwords:
            heldout_text.append((words, raw))
        else:
            dictionary_pool.append((words, raw))
    rng_for(seed, "dictionary-order").shuffle(dictionary_pool)
    budget = int(args.dictionary_mb * 1_000_000)
    dictionary_documents, dictionary_bytes = [], 0
    for words, raw in dictionary_pool:
        if dictionary_bytes >= budget:
            break
        text = clean_entry(words, raw)
        if len(text) >= MIN_ENTRY_CHARS:
            dictionary_documents.append(text)
            dictionary_bytes += len(text.encode("utf-8"))
    heldout_documents = [t for t in (clean_entry(w, r) for w, r in heldout_text) if len(t) >= MIN_ENTRY_CHARS]
    rng_for(seed, "heldout-order").shuffle(heldout_documents)

    element_docs = element_documents(seen_elements, args.element_sentences, rng_for(seed, "element-documents"))
    unit_docs, used_magnitudes = unit_documents(seen_pairs, args.unit_sentences, rng_for(seed, "unit-documents"))

    prompt_rng = rng_for(seed, "unit-prompts")
    eval_units = []
    for pair in heldout_pairs:
        chosen = set()
        for _ in range(PROMPTS_PER_HELDOUT_PAIR):
            magnitude, answer = conversion(pair, prompt_rng, avoid=chosen)
            chosen.add(magnitude)
            eval_units.append({"prompt": unit_prompt(pair, magnitude), "value": json_number(answer)})
    eval_units_seen = []
    for _ in range(len(eval_units)):
        pair = prompt_rng.choice(seen_pairs)
        avoid = used_magnitudes[pair_key(pair)]
        magnitude, answer = conversion(pair, prompt_rng, avoid=avoid)
        avoid.add(magnitude)  # also keeps the seen prompts distinct
        eval_units_seen.append({"prompt": unit_prompt(pair, magnitude), "value": json_number(answer)})

    documents = dictionary_documents + element_docs + unit_docs
    mix_rng = rng_for(seed, "mix")
    mix_rng.shuffle(documents)
    validation_index = set(mix_rng.sample(range(len(documents)), round(len(documents) * VALIDATION_FRACTION)))
    train = [{"text": d} for i, d in enumerate(documents) if i not in validation_index]
    validation = [{"text": d} for i, d in enumerate(documents) if i in validation_index]

    outputs = {
        "train.jsonl": jsonl(train),
        "validation.jsonl": jsonl(validation),
        "heldout_text.jsonl": jsonl({"text": d} for d in heldout_documents),
        "eval_elements.jsonl": jsonl(eval_elements),
        "eval_units.jsonl": jsonl(eval_units),
        "eval_units_seen.jsonl": jsonl(eval_units_seen),
    }
    units_version = run_units(["--version"]).stdout.split("\n")[0].strip()
    manifest = {
        "generator": "scripts/build_corpus.py",
        "seed": seed,
        "arguments": {"dictionary_mb": args.dictionary_mb, "unit_sentences": args.unit_sentences,
                      "element_sentences": args.element_sentences},  # fmt: skip
        "packages": {p: {"version": versions[p]} for p in PACKAGES},
        "units_program": units_version,
        "files": {n: {"lines": b.count(b"\n"), "bytes": len(b)} for n, b in outputs.items()},
        "documents": {"dictionary": len(dictionary_documents), "elements": len(element_docs),
                      "units": len(unit_docs), "train": len(train), "validation": len(validation),
                      "heldout_text": len(heldout_documents)},  # fmt: skip
        "dictionary": {"entries": len(entries), "headwords": len(headwords),
                       "heldout_headwords": len(heldout_headwords),
                       "entries_dropped_for_heldout_element_facts": leaks,
                       "text_bytes": dictionary_bytes},  # fmt: skip
        "elements": {"total": len(elements), "seen": len(seen_elements),
                     "heldout": [{"name": e["name"], "symbol": e["symbol"], "number": e["number"],
                                  "weight": json_number(e["weight"])} for e in heldout_elements]},  # fmt: skip
        "units": {"units": sum(len(u) for u in UNITS.values()), "ordered_pairs": len(pairs),
                  "pairs_out_of_factor_range": out_of_range, "seen_ordered_pairs": len(seen_pairs),
                  "heldout_ordered_pairs": [[p[1][0], p[2][0]] for p in heldout_pairs]},  # fmt: skip
    }
    outputs["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    os.makedirs(args.out, exist_ok=True)
    for file_name, content in outputs.items():
        with open(os.path.join(args.out, file_name), "wb") as f:
            f.write(content)
    for file_name, info in manifest["files"].items():
        print(f"{file_name}: {info['lines']} lines, {info['bytes']} bytes")


if __name__ == "__main__":
    main()
