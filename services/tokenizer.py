"""Korean morpheme tokenizer (kiwipiepy) that keeps the content words retrieval needs."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from kiwipiepy import Kiwi

# The token cache's key derives from this module's source (services/versions.py): no version to bump by hand.
_CONTENT_TAG_PREFIXES = ("NNG", "NNP", "SL", "SN", "SH", "XR", "VV", "VA", "W_HASHTAG")
# Verbs/adjectives and nouns that carry no topic ("어떻게 하나요", "알려 주세요", "받을 수 있나요") and would
# only add noise; they are dropped before ranking and confidence.
_STOP_FORMS = frozenset(
    "하 되 있 없 않 알 주 어떻 어떡 이렇 그렇 저렇 같 싶 보 가 오 좋 궁금 말 드리 계시 그러 모르 "
    "어떠 싫 필요하 괜찮 이 그 저 것 수 등 때 좀 제 저희 요 알리 받 쓰 들 들어가 올리 나오 여쭈 물어보 묻 "
    "가능 가능하 방법 문의 질문 답변 경우 관련 대하 대한 부분 내용 정도 얘기 뭐 무엇 거 건 분 "
    "되나 하나 해 여기 거기 저기 먼저 다음 지금 오늘 내일 어제 요즘 혹시 진짜 정말 그냥 계속 "
    "며칠 얼마 몇 어디 언제 누구 무슨 어느 어떤 뭘 뭔".split()
)
# Words that are evidence only together with others: they appear everywhere in a workplace handbook.
GENERIC_FORMS = frozenset(
    "회사 사내 직원 임직원 사원 팀 팀장 본인 신청 확인 사용 이용 안내 기준 규정 시간 날 일 년 월 주 "
    "원 개 번 회 명 곳 전 후 중 내 외 이상 이하 미만 초과 경우 처리 진행 가능 필요 해당 관리 담당 "
    "본사 지점".split()
)
# Time expressions: everyday words in questions ("월요일 첫 출근", "일주일에 몇 번"); when the handbook never
# uses one, its absence says nothing about the topic: it does not weigh in the confidence at all. (Times of day are
# not among them: 저녁 of "저녁 식대도 나와요?" is the topic where the handbook's meal allowance covers lunch only.)
TIME_FORMS = frozenset(
    "월요일 화요일 수요일 목요일 금요일 토요일 일요일 하루 이틀 일주일 한달 "
    "올해 작년 내년 이번 지난 매일 매주 매달 매월 매년 다음주 이번주 지난주 이번달 다음달 지난달".split()
)
_NOUN_TAGS = ("NNG", "NNP", "XSN", "XR")
# One-letter nouns Endy drops or discounts (주 of 주가, 수 of 수가): a particle glued to one may be a noun's last letter
_DROPPED_LETTERS = frozenset(w for w in _STOP_FORMS | GENERIC_FORMS if len(w) == 1)
_COMPOUND_ROUNDS = 3
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_WORD = re.compile(r"[0-9A-Za-z가-힣]+")
# "ㅠㅠ", "ㅋㅋ", "ㅎㅎ": runs of bare jamo are chat emoticons (Kiwi tags some as nouns), never a topic word.
_JAMO_ONLY = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]+")
# Kiwi holds the GIL for a whole call (measured: bench notes in docs/benchmarks.md), so a text longer than this is
# analysed a few words at a time: between pieces the event loop and other workers get their turn. Ordinary questions
# are shorter and analysed whole (their tokens are exactly Kiwi's); a long one may differ at the piece boundaries.
LONG_TEXT_CHARS = 120
_PIECE_CHARS = 40


def clean_text(text: str) -> str:
    """NFKC-normalise and drop control/format characters (zero-width, RTL marks), keeping newlines/tabs."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in _CONTROL_CATEGORIES)


class KoreanTokenizer:
    """Turns Korean (and mixed Korean/English) text into lower-cased content morphemes."""

    def __init__(self, num_workers: int = 0) -> None:
        # The typo and multi-word dictionaries cost ~200 MB RSS and 1.5 s of start-up without helping
        # retrieval (measured on the dev set); num_workers=0 must not be passed explicitly (deprecated).
        options = {"load_typo_dict": False, "load_multi_dict": False}
        self._kiwi = Kiwi(num_workers=num_workers, **options) if num_workers else Kiwi(**options)
        self._batched = num_workers > 0
        # Kiwi is not documented as thread-safe; one lock keeps to_thread callers honest.
        self._lock = threading.Lock()
        # Compounds registered as user words → their ≥2-letter parts, also emitted so "자기계발 비용" still
        # meets "자기계발비" while the stray "비" of 자기/계발/비 no longer matches every …비.
        self._compounds: dict[str, tuple[str, ...]] = {}
        self._checked: set[str] = set()  # words already known not to need a user word (in this vocabulary)
        self._terms: dict[str, list[str]] = {}  # lexicon terms analysed under the current vocabulary
        self._whole: dict[str, Any | None] = {}  # two-letter words read alone (see _rejoined)

    @property
    def vocabulary(self) -> str:
        """A short hash of the user words in force (part of every token-cache key)."""
        joined = "\n".join(sorted(self._compounds))
        return hashlib.sha256(joined.encode()).hexdigest()[:8]

    def warm_up(self) -> None:
        """Run one analysis so the model's lazy parts load now, not on the first question."""
        self.tokenize("연차 신청")

    def add_compounds(self, phrases: Iterable[str]) -> int:
        """Keep the handbook's own compounds whole (탕비실, 자기계발비): words Kiwi would split into stray letters.

        Runs to a fixed point (a new user word can change how another word splits), so building the same
        knowledge base again adds nothing and its token cache stays valid.
        """
        words = {w.lower() for p in phrases for w in _WORD.findall(clean_text(p))}
        added = 0
        with self._lock:
            for _ in range(_COMPOUND_ROUNDS):
                # Split everything first: Kiwi rebuilds its model on the first analysis after each new user word.
                found: dict[str, tuple[str, ...]] = {}
                for word in words - self._checked:
                    parts = self._split_compound(word)
                    if parts is not None and "".join(parts) not in self._compounds:
                        found.setdefault("".join(parts), parts)
                new = {c: p for c, p in found.items() if self._kiwi.add_user_word(c, "NNP", 0.0)}
                self._compounds.update({c: tuple(x for x in p if len(x) >= 2) for c, p in new.items()})
                if new:
                    self._terms.clear()
                added += len(new)
                self._checked = set() if new else self._checked | words
                if not new:
                    break
        return added

    @property
    def compounds(self) -> dict[str, tuple[str, ...]]:
        """A copy of the user words added so far and the parts each also emits."""
        with self._lock:
            return dict(self._compounds)

    def restore_compounds(self, compounds: dict[str, tuple[str, ...]], phrases: Iterable[str]) -> int:
        """What `add_compounds(phrases)` found before (a cached result), registered without analysing anything."""
        words = {w.lower() for p in phrases for w in _WORD.findall(clean_text(p))}
        with self._lock:
            new = {
                c: p
                for c, p in compounds.items()
                if c not in self._compounds and self._kiwi.add_user_word(c, "NNP", 0.0)
            }
            self._compounds.update(new)
            if new:
                self._terms.clear()
            self._checked |= words
        return len(new)

    def _split_compound(self, word: str) -> tuple[str, ...] | None:
        """The noun pieces of a compound Kiwi splits with a one-letter piece, or None when it keeps it whole."""
        if not 2 <= len(word) <= 10 or not re.fullmatch(r"[가-힣]+", word):
            return None
        run: list[str] = []
        for tok in self._kiwi.tokenize(word):
            if not tok.tag.startswith(_NOUN_TAGS) and tok.tag != "NNB":
                break
            run.append(tok.form)
        joined = "".join(run)
        if len(run) < 2 or not word.startswith(joined) or len(joined) > 6:
            return None
        return tuple(run) if any(len(p) == 1 for p in run) else None

    def tokenize(self, text: str) -> list[str]:
        """Content morphemes of one text, in order."""
        return self.analyse(text)[0]

    def terms(self) -> dict[str, list[str]]:
        """A copy of the lexicon terms analysed so far under the current vocabulary."""
        with self._lock:
            return {w: list(t) for w, t in self._terms.items()}

    def restore_terms(self, terms: dict[str, list[str]]) -> None:
        """Terms a previous run analysed under the same vocabulary (a cached result), kept without analysing."""
        with self._lock:
            for word, tokens in terms.items():
                self._terms.setdefault(word, list(tokens))

    def term(self, word: str) -> list[str]:
        """Content morphemes of a lexicon or synonym term, memoised (every index build analyses the same terms)."""
        cached = self._terms.get(word)
        if cached is None:
            cached = self._terms[word] = self.tokenize(word)
        return cached

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Content morphemes of many texts (batched; uses Kiwi's workers when configured)."""
        cleaned = [clean_text(t) for t in texts]
        with self._lock:
            if not self._batched:  # Kiwi only batches with worker threads
                return [self._content(self._kiwi.tokenize(t)) for t in cleaned]
            return [self._content(tokens) for tokens in self._kiwi.tokenize(cleaned)]

    def analyse(self, text: str) -> tuple[list[str], set[str]]:
        """`tokenize` and `verbs` of one text from a single analysis (a question is analysed once); a long text in
        pieces (LONG_TEXT_CHARS), the lock and the GIL released between them."""
        content: list[str] = []
        verbs: set[str] = set()
        for piece in _pieces(clean_text(text)):
            with self._lock:
                tokens = self._kiwi.tokenize(piece)
                content += self._content(tokens)  # under the lock: add_compounds may be changing the compounds
            verbs |= {t.form.lower() for t in tokens if t.tag.startswith(("VV", "VA"))}
        return content, verbs

    def verbs(self, text: str) -> set[str]:
        """The content morphemes of a text that are verbs or adjectives (weaker evidence than nouns)."""
        return self.analyse(text)[1]

    def similarity(self, first: str, second: str) -> float | None:
        """Cosine of two morphemes' word vectors (Kiwi's model), or None when it cannot tell. A word the model
        lacks still gets a value: ask `has_vector` first."""
        with self._lock:
            try:
                return float(self._kiwi.morpheme_similarity(first, second))
            except (ValueError, KeyError, RuntimeError):
                return None

    def has_vector(self, word: str) -> bool:
        """Whether Kiwi's model has a word vector of its own for the word (it has neighbours)."""
        return bool(self.similar(word, 1))

    def similar(self, word: str, n: int = 10) -> list[str]:
        """Kiwi's nearest morphemes by word vector (the model ships them); empty for a word it does not know."""
        with self._lock:
            try:
                found = self._kiwi.most_similar_morphemes(word, top_n=n)
            except (ValueError, KeyError, RuntimeError):  # "No morpheme found for the given form"
                return []
        return [str(getattr(m, "form", m)).lower() for m in found]

    def _content(self, tokens: Iterable[object]) -> list[str]:
        out: list[str] = []
        for tok in self._rejoined(list(tokens)):
            tag: str = tok.tag
            if not tag.startswith(_CONTENT_TAG_PREFIXES):
                continue
            form: str = tok.form.lower()
            if form in _STOP_FORMS or not form.strip() or _JAMO_ONLY.fullmatch(form):
                continue
            out.append(form)
            out.extend(self._compounds.get(form, ()))
        return out

    def _rejoined(self, tokens: list[Any]) -> list[Any]:
        """Kiwi reads "주가" (stock price) in "회사 주가 얼마야" as 주 (week) + the subject particle 가, and Endy then
        drops the generic 주: the question's topic is gone. A word that is only a generic one-letter common noun and a
        subject particle, and that Kiwi reads as one noun on its own, is that noun; never after an adnominal ending
        ("할 수도", "할 수가": 수 is a bound noun there). Called under the lock."""
        out: list[Any] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                nxt is not None
                and tok.tag == "NNG"
                and tok.form in _DROPPED_LETTERS  # one letter each
                and nxt.tag == "JKS"
                and (i == 0 or tokens[i - 1].tag != "ETM")
                and len(nxt.form) == 1
                and nxt.start == tok.start + 1
                and (i == 0 or tokens[i - 1].start + tokens[i - 1].len < tok.start)
                and (i + 2 >= len(tokens) or tokens[i + 2].start > nxt.start + 1)
            ):
                whole = self._whole_noun(tok.form + nxt.form)
                if whole is not None:
                    out.append(whole)
                    i += 2
                    continue
            out.append(tok)
            i += 1
        return out

    def _whole_noun(self, word: str) -> Any | None:
        """Kiwi's one common noun for the word read alone, or None (memoised; called under the lock)."""
        if word not in self._whole:
            alone = self._kiwi.tokenize(word)
            self._whole[word] = alone[0] if len(alone) == 1 and alone[0].tag == "NNG" else None
        return self._whole[word]


def _pieces(text: str) -> list[str]:
    """The text whole when it is short; else runs of whole words of about _PIECE_CHARS characters each."""
    if len(text) <= LONG_TEXT_CHARS:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for word in text.split():
        if current and size + len(word) > _PIECE_CHARS:
            pieces.append(" ".join(current))
            current, size = [], 0
        current.append(word)
        size += len(word) + 1
    if current:
        pieces.append(" ".join(current))
    return pieces
