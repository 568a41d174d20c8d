"""Korean morpheme tokenizer (kiwipiepy) that keeps the content words retrieval needs."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Sequence

from kiwipiepy import Kiwi

# Bump when the token rules change: cached indexes keyed by it are rebuilt.
TOKENIZER_VERSION = "kiwi-content-v2"

_CONTENT_TAG_PREFIXES = ("NNG", "NNP", "SL", "SN", "SH", "XR", "VV", "VA", "W_HASHTAG")
# Verbs/adjectives that carry no topic ("어떻게 하나요", "알려 주세요") and would only add noise.
_STOP_FORMS = frozenset(
    "하 되 있 없 않 알 주 어떻 어떡 이렇 그렇 저렇 같 싶 보 가 오 좋 궁금 말 드리 계시 그러 모르 "
    "어떠 싫 필요하 괜찮 이 그 저 것 수 등 때 좀 제 저희 요".split()
)
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


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

    def warm_up(self) -> None:
        """Run one analysis so the model's lazy parts load now, not on the first question."""
        self.tokenize("연차 신청")

    def tokenize(self, text: str) -> list[str]:
        """Content morphemes of one text, in order."""
        with self._lock:
            return _content(self._kiwi.tokenize(clean_text(text)))

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Content morphemes of many texts (batched; uses Kiwi's workers when configured)."""
        cleaned = [clean_text(t) for t in texts]
        with self._lock:
            if not self._batched:  # Kiwi only batches with worker threads
                return [_content(self._kiwi.tokenize(t)) for t in cleaned]
            return [_content(tokens) for tokens in self._kiwi.tokenize(cleaned)]


def _content(tokens: Iterable[object]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        tag: str = tok.tag  # type: ignore[attr-defined]
        if not tag.startswith(_CONTENT_TAG_PREFIXES):
            continue
        form: str = tok.form.lower()  # type: ignore[attr-defined]
        if form in _STOP_FORMS or not form.strip():
            continue
        out.append(form)
    return out
