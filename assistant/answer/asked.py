"""What a question asks for, and the spans of a sentence that could answer it.

The kind of answer (a time, a number or a name) comes from the question words of either
language; the thing asked about (`focus_word`) is the first content word after them. Candidate
answers (`candidates`) are verbatim spans of that kind: amounts with their unit ("24 sensor",
"Rp 6,8 miliar", "8 to 5"), dates joined with their weekday ("Senin (9/2/2026)"), runs of
capitalised words; minus what the question already says. Sentence scoring
(`assistant.answer.evidence`) and the short answer (`assistant.answer.short`) both use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib import resources

from index.store.tokenize import stopwords

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d")
_NUMBER_WORDS = frozenset(
    "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh puluh ratus ribu juta "  # noqa: SIM905
    "miliar triliun belas one two three four five six seven eight nine ten eleven twelve "
    "hundred thousand million billion dozen".split()
)
_MONTHS = frozenset(
    "januari februari maret april mei juni juli agustus september oktober november desember "  # noqa: SIM905
    "january february march june july august october december senin selasa rabu kamis jumat "
    "sabtu minggu monday tuesday wednesday thursday friday saturday sunday".split()
)
# What kind of answer a question asks for, from its question words (either language).
# Indonesian question words also take the particle -kah ("siapakah", "berapakah", "kapankah"):
# a third of FacQA's questions.
_KINDS = (
    ("time", re.compile(r"\b(kapan(kah)?|when|what (year|day|date|time)|(tahun|tanggal|pukul|jam) "
                        r"berapa(kah)?|hari apa(kah)?)\b")),
    ("number", re.compile(r"\b(berapa(kah)?|how (many|much|long|far|old|big|high)|jumlah|"
                          r"what (percentage|price|share|score|vote)|by what)\b")),
    ("name", re.compile(r"\b(siapa(kah)?|who|whom|whose|which|(di|ke|dari)?mana(kah)?|where|"
                        r"apa(kah)? nama|nama apa(kah)?|what is the name|what was the name)\b")),
)  # fmt: skip


def expected_kind(question: str) -> str | None:
    """'time', 'number' or 'name' when the question words say so, else None. The first question
    word decides: in "How many Shiite civilians were injured when the bridge collapsed?" the
    "when" opens a clause, and taken for the question word it made the weekday "Rabu" the short
    answer."""
    text = question.lower()
    found = [(m.start(), i) for i, (_, pattern) in enumerate(_KINDS) if (m := pattern.search(text))]
    return _KINDS[min(found)[1]][0] if found else None


_WH = re.compile(
    r"\b(berapa|siapa|apa|apakah|kapan|mana|bagaimana|mengapa|kenapa|how (many|much|long|far|"
    r"old)|what|which|who|whom|whose|where|when|why|how)\s+(.*)",
    re.IGNORECASE,
)
_GENERIC = frozenset("jumlah banyak besar nama number total name kind type".split())  # noqa: SIM905
_STEM = 5  # "farmer"/"farmers", "anggaran"/"anggarannya": a shared prefix is close enough
MAX_WORDS = 8  # a longer "name" is a title or a run of capitalised words, not an answer


_HOW_MUCH_DID = re.compile(
    r"\bhow much\s+(did|does|do|is|was|were|are|will|has|have|had|would|could)\b", re.IGNORECASE
)


def focus_word(question: str) -> str | None:
    """The first content word after the question word ("berapa *anggaran* …", "how many
    *farmers* …"): the thing asked about, which the answer sentence usually names. After "how
    much did …" it is the verb at the end ("… the system *cost*?")."""
    match = _WH.search(question)
    if match is None:
        return None
    skip = stopwords() | _GENERIC
    words = [
        w
        for w in _WORD.findall(match.group(3).lower())
        if w not in skip and not w.isdigit() and len(w) > 2
    ]
    if words and _HOW_MUCH_DID.search(question):
        return words[-1]
    return words[0] if words else None


def asked_unit(question: str) -> str | None:
    """'percent' or 'money' when the question asks for one ("what percentage", "berapa
    biaya", "how much did it cost"), else None."""
    if PERCENT_WORDS.search(question):
        return "percent"
    focus = focus_word(question)
    if (focus is not None and MONEY_WORDS.fullmatch(focus)) or _HOW_MUCH_DID.search(question):
        return "money"
    return None


def has_unit(text: str, unit: str | None) -> bool:
    """Does the text hold an amount in `unit` (see `asked_unit`)?"""
    if unit == "percent":
        return is_percent(text)
    return unit == "money" and is_money(text)


def skeleton(word: str) -> str:
    """A word's spelling with the differences between Indonesian and English cognates evened
    out ("coordinator"/"koordinator", "personnel"/"personel", "inflation"/"inflasi"): c, q
    and x as k, ph as f, doubled letters single."""
    word = word.lower().replace("ph", "f").replace("x", "ks").replace("c", "k").replace("q", "k")
    return re.sub(r"(.)\1+", r"\1", word)


def _same(word: str, form: str) -> bool:
    """Forms of one word: the same skeleton start of `_STEM` letters; for short words, where a
    prefix says little, the shorter skeleton plus at most two letters ("vote"/"votes", not
    "air"/"airport")."""
    a, b = sorted((skeleton(word), skeleton(form)), key=len)
    if len(a) >= _STEM:
        return a[:_STEM] == b[:_STEM]
    return b.startswith(a) and len(b) - len(a) <= 2


@cache
def glossary() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """(English forms, Indonesian forms) of the nouns questions often ask about
    (assistant/answer/data/glossary.txt)."""
    text = resources.files("assistant.answer").joinpath("data", "glossary.txt").read_text("utf-8")
    entries = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            english, indonesian = line.split("=")
            entries.append(
                (
                    tuple(f.strip() for f in english.split(",") if f.strip()),
                    tuple(f.strip() for f in indonesian.split(",") if f.strip()),
                )
            )
    return tuple(entries)


@cache
def forms(word: str) -> frozenset[str]:
    """`word` and its translations in the glossary, either way."""
    found = {word}
    for english, indonesian in glossary():
        for side, other in ((english, indonesian), (indonesian, english)):
            if any(" " not in f and _same(word, f) for f in side):
                found.update(other)
    return frozenset(found)


def mentions(sentence: str, word: str | None) -> bool:
    """Does the sentence name `word`, a form or cognate of it (a shared skeleton start:
    "coordinated"/"Koordinator") or its translation ("farmers"/"petani")?"""
    if word is None:
        return False
    words = [w for w in _WORD.findall(sentence) if len(w) > 2]
    lowered = " ".join(sentence.lower().split())
    for form in forms(word):
        if " " in form:
            if form in lowered:
                return True
        elif any(_same(w, form) for w in words):
            return True
    return False


def answers_kind(kind: str | None, sentence: str, asked: set[str]) -> bool:
    """Does the sentence hold something of the asked kind that the question does not already
    say? A lead sentence restating the question scores high otherwise; the answer is new."""
    if kind is None:
        return False
    words = _WORD.findall(sentence)
    new = [w for w in words if w.lower() not in asked]
    if kind == "name":  # a capitalised word not opening the sentence
        return any(w[0].isupper() for w in new if words.index(w) > 0)
    has_number = any(_NUMBER.search(w) or w.lower() in _NUMBER_WORDS for w in new)
    if kind == "time":
        return has_number or any(w.lower() in _MONTHS for w in new)
    return has_number


_NUMBER_WORD = (
    r"(?:satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|sebelas|seratus|seribu|"
    r"sejuta|puluh|ratus|ribu|belas|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen)"
)
_SCALE = r"(?:ribu|juta|miliar|milyar|triliun|thousand|million|billion|trillion|bn|m|k)"
_CURRENCY_BEFORE = r"(?:Rp\.?|US\s?\$|S\$|\$|£|€|USD|IDR)"
_CURRENCY_AFTER = (
    r"(?:dolar(?: AS| Amerika(?: Serikat)?| Singapura| Australia)?|dollars?|euros?|pounds?|"
    r"rupiah|yen|yuan|ringgit|sterling)"
)
_PERCENT = r"(?:%|persen|percent|per cent)"
# Units written onto the number ("4km", "30mph", "2GB"): other letters there make a code.
_GLUED_UNIT = r"(?:km|kg|mg|mm|cm|ml|kwh|mw|gw|kw|mph|kph|gb|mb|tb|ha)"
_AMOUNT = re.compile(
    rf"(?:{_CURRENCY_BEFORE}\s?|(?<![^\W_]))"
    rf"(?:\d+(?:[.,]\d+)*(?:{_GLUED_UNIT}\b)?|\b{_NUMBER_WORD}(?:[\s-]{_NUMBER_WORD})*\b)"
    rf"(?:\s?{_SCALE}\b)?(?:\s?{_PERCENT}|\s{_CURRENCY_AFTER}\b)?"
    r"(?:\s?(?:to|-|–|banding|lawan)\s?\d+(?:[.,]\d+)*\b)?"  # a score or a vote: "8 to 5"
    r"(?![^\W\d_])",  # digits inside a code are no amount: "terminal 1A", "G20"
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d")
# A number after these names a thing, it counts nothing: "lantai empat" (the fourth floor).
_LABEL_BEFORE = re.compile(
    r"\b(lantai|kelas|babak|ronde|pasal|ayat|jilid|tingkat|floor|grade|round|article)\s+$",
    re.IGNORECASE,
)
# Words after an amount that belong to it: units, and "orang"/"people"-like counters.
_UNITS = frozenset(
    "ton kg kilogram gram liter meter km kilometer mil mile miles hektare hektar hectares acres "  # noqa: SIM905
    "persen tahun bulan minggu hari jam menit detik years months weeks days hours minutes "
    "seconds orang jiwa unit buah kali times ekor lembar kursi suara votes seats megawatt mw "
    "watt kwh derajat degrees".split()
)
_MONTH = (
    r"(?:januari|februari|maret|april|mei|juni|juli|agustus|september|oktober|november|"
    r"desember|january|february|march|may|june|july|august|october|december|jan|feb|mar|apr|"
    r"jun|jul|aug|agu|sep|sept|oct|okt|nov|dec|des)\.?"
)
_WEEKDAY = (
    r"(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)"
)
_TIME_PARTS = re.compile(
    r"\b(?:"
    r"\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    rf"|(?:\d{{1,2}}\s+)?{_MONTH}(?:\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?"
    r"|(?:tahun\s+)?(?:1[5-9]\d\d|20\d\d)(?:-an|s)?"
    r"|(?:pukul|jam)\s+\d{1,2}[.:]\d{2}(?:\s?(?:WIB|WITA|WIT))?"
    r"|\d{1,2}[.:]\d{2}\s?(?:a\.m\.|p\.m\.|am|pm|WIB|WITA|WIT)"
    rf"|{_WEEKDAY}"
    r")\b",
    re.IGNORECASE,
)
_TIME_GLUE = re.compile(r"[\s,()]*|[\s,]*(?:tanggal|on|the)[\s,]*")
_CAPITAL = r"[A-Z][\w'’.&-]*"
_NOT_NAMES = re.compile(rf"(?:{_MONTH}|{_WEEKDAY}|WIB|WITA|WIT)", re.IGNORECASE)
_NAME = re.compile(
    rf"{_CAPITAL}(?:\s+(?:(?:de|van|der|von|bin|binti|al|of|the|el|la|da)\s+)?{_CAPITAL})*"
    r"(?:\s+\([A-Z][\w.-]*\))?"
)
MONEY_WORDS = re.compile(
    r"\b(cost|costs|price|prices|pay|paid|spend|spent|worth|budget|raise|raised|fund|funding|"
    r"fine|fined|salary|revenue|profit|profits|loss|losses|value|invest|investment|biaya|harga|"
    r"nilai|anggaran|dana|modal|gaji|tarif|ongkos|investasi|kerugian|utang|pendapatan|laba|"
    r"denda|upah|omzet|subsidi)\b",
    re.IGNORECASE,
)
PERCENT_WORDS = re.compile(r"\b(percent|percentage|per cent|persen|persentase)\b", re.IGNORECASE)


def _amounts(text: str, focus: str | None) -> Iterator[tuple[int, int]]:
    """Amounts, with their unit ("24 sensor", "7,40 dolar AS per kilogram"); not the parts of
    dates, nor bare years, nor a number naming a thing (`_LABEL_BEFORE`)."""
    dates = [span for span in _times(text) if any(c.isdigit() for c in text[span[0] : span[1]])]
    for match in _AMOUNT.finditer(text):
        start, end = match.span()
        if any(a < end and start < b for a, b in dates) or _YEAR.fullmatch(match.group()):
            continue
        if _LABEL_BEFORE.search(text[max(0, start - 20) : start]):
            continue
        after = re.match(r"\s+([^\W\d_]+)", text[end:])
        if after and (after.group(1).lower() in _UNITS or mentions(after.group(1), focus)):
            end += after.end()
        per = re.match(r"\s+(?:per|se|a|an)\s+[^\W\d_]+", text[end:])
        if per and text[end:].split()[0].lower() == "per":
            end += per.end()
        yield start, end


def _times(text: str) -> Iterator[tuple[int, int]]:
    """Date and time expressions, neighbouring parts joined: "Senin (9/2/2026)"."""
    spans = [m.span() for m in _TIME_PARTS.finditer(text)]
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and _TIME_GLUE.fullmatch(text[merged[-1][1] : start]):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    for start, end in merged:
        if text[end - 1 : end] == "(":
            end -= 1
        if text[start:end].count("(") > text[start:end].count(")") and text[end : end + 1] == ")":
            end += 1
        yield start, end


def _names(text: str) -> Iterator[tuple[int, int]]:
    stop = stopwords()
    for match in _NAME.finditer(text):
        start, end = match.span()
        words = _WORD.findall(match.group())
        while words and words[0].lower() in stop:  # "The", "Menurut" opening it
            first = re.match(r"\S+\s*", text[start:end])
            start += first.end() if first else end - start
            words.pop(0)
        # One capitalised word opening the sentence is mostly an ordinary word ("Sebelumnya",
        # "Selain"): only an acronym counts there.
        opening = start == 0 and len(words) == 1 and not words[0].isupper()
        named = start < end and not _NOT_NAMES.fullmatch(text[start:end])
        if named and len(words) <= MAX_WORDS and not opening:
            yield start, end


def _trim(text: str, start: int, end: int, asked: set[str]) -> tuple[int, int] | None:
    """The span without leading and trailing words the question already has; None when
    nothing new is left."""

    def known(token: str) -> bool:
        return {w.lower() for w in _WORD.findall(token)} <= asked

    words = list(re.finditer(r"[^\s,;:]+", text[start:end]))
    while words and known(words[0].group()):
        words.pop(0)
    while words and known(words[-1].group()):
        words.pop()
    if not words:
        return None
    return start + words[0].start(), start + words[-1].end()


def _new(text: str, asked: set[str]) -> bool:
    """Does an amount or a date say more than the question? ("2025" in a question about 2025
    does not.) Its unit words may repeat the question: "84 penumpang" answers "berapa
    penumpang"."""
    return not {w.lower() for w in _WORD.findall(text) if any(c.isdigit() for c in w)} <= asked or (
        not any(c.isdigit() for c in text) and not known_words(text) <= asked
    )


def known_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


# "Riky Saputra (31)", "TAS (22), mahasiswa …": Indonesian news gives a person's age in
# brackets after the name; it answers "how old", not "how many witnesses".
_AGE = re.compile(r".*[A-Z][\w.'-]*\s?\(\d{1,3}\)")
_ASKS_AGE = re.compile(r"\b(how old|age|aged|usia|umur|berumur|berusia)\b", re.IGNORECASE)


def candidates(kind: str, text: str, question: str) -> list[tuple[int, int]]:
    """Spans of `text` of the asked kind that say something the question does not."""
    asked = {w.lower() for w in _WORD.findall(question)}
    if kind == "number":
        found = list(_amounts(text, focus_word(question)))
        if not _ASKS_AGE.search(question):
            found = [(a, b) for a, b in found if not _AGE.fullmatch(text[max(0, a - 40) : b + 1])]
    elif kind == "time":
        found = list(_times(text))
    else:
        found = list(_names(text))
    if kind != "name":
        return [(start, end) for start, end in found if _new(text[start:end], asked)]
    spans = []
    for start, end in found:
        trimmed = _trim(text, start, end, asked)
        if trimmed is not None:
            spans.append(trimmed)
    return spans


def is_money(text: str) -> bool:
    """Does the text hold a currency ("Rp", "$", "dolar AS", "euros")?"""
    return bool(re.search(rf"{_CURRENCY_BEFORE}|\b{_CURRENCY_AFTER}\b", text, re.IGNORECASE))


def is_percent(text: str) -> bool:
    return bool(re.search(_PERCENT, text, re.IGNORECASE))
