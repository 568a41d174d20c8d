"""PII masker recall per kind and near-miss false positives on every corpus in tests/data/pii/.

Run: .venv/bin/python bench/pii_recall.py [--show]
The corpora: the frozen one (written with the patterns), `blind_` and `blind2_` (written blind, then development
data, asserted by the tests), `blind3_` to `blind11_` (each written blind by another writer for another company,
scored once as it fell, then the source of general fixes; reported here only). docs/benchmarks.md has the figures
as they fell.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.privacy import PiiKind, find_pii, mask_pii  # noqa: E402

CORPUS_DIR = ROOT / "tests" / "data" / "pii"
CORPORA = {
    "frozen": "",
    "blind": "blind_",
    "blind2": "blind2_",
    "blind3": "blind3_",
    "blind4": "blind4_",
    "blind5": "blind5_",
    "blind6": "blind6_",
    "blind7": "blind7_",
    "blind8": "blind8_",
    "blind9": "blind9_",
    "blind10": "blind10_",
    "blind11": "blind11_",
}
# corpora whose secrets are all the PII in a row, not only the row's kind
ALL_PII = {"blind4", "blind5", "blind6", "blind7", "blind8", "blind9", "blind10", "blind11"}
# blind7's writer counted every personal name as a secret, also a bare one in a form field ("성명 : 지정우"); the
# issue's rule (and the masker's) is a name followed by a title or 님 next to a contact. Reported both ways: as
# written, and with the bare names left out of what a row requires ("to the rule").
BARE_NAMES = {"blind7"}
_NAME_SECRET = re.compile(r"[가-힣]{2,4}|[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+){1,2}")
_TITLED = re.compile(r"\s?(?:님|씨|[가-힣]{1,3}(?:장|님|리|임|니저|사원|책임|선임|수석|이사|대표|프로|매니저))")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def rows(name: str) -> list[list[str]]:
    """A corpus file's rows (comments and header dropped, \\uXXXX escapes decoded)."""
    lines = (CORPUS_DIR / name).read_text(encoding="utf-8").splitlines()
    found = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [[_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), cell) for cell in row] for row in found[1:]]


def _inside(text: str, secret: str, spans: list[tuple[int, int]]) -> bool:
    """Every occurrence of the secret lies inside one of the spans."""
    starts = [m.start() for m in re.finditer(re.escape(secret), text)]
    return bool(starts) and all(any(s <= at and at + len(secret) <= e for s, e in spans) for at in starts)


def to_the_rule(text: str, secrets: str) -> str:
    """The secrets without the bare names (those not followed by a title or 님), when others are left."""
    kept = [
        x
        for x in secrets.split("|")
        if not _NAME_SECRET.fullmatch(x) or any(_TITLED.match(text, m.end()) for m in re.finditer(re.escape(x), text))
    ]
    return "|".join(kept) if kept else secrets


def masked_right(kind: str, text: str, secrets: str, all_pii: bool = False) -> bool:
    """Every occurrence of every secret lies inside one match of the expected kind. With ``all_pii`` (a corpus
    whose secrets are all the PII in the row, of any kind): every secret inside a match of any kind, and one of
    them inside a match of the row's kind."""
    found = find_pii(text)
    own = [(m.start, m.end) for m in found if m.kind == PiiKind(kind)]
    if not all_pii:
        return all(_inside(text, secret, own) for secret in secrets.split("|"))
    every = [(m.start, m.end) for m in found]
    listed = secrets.split("|")
    return all(_inside(text, secret, every) for secret in listed) and any(_inside(text, x, own) for x in listed)


def columns() -> list[tuple[str, str, bool, bool]]:
    """(column, file prefix, secrets are all the row's PII, bare names left out) for every corpus."""
    found = [(corpus, prefix, corpus in ALL_PII, False) for corpus, prefix in CORPORA.items()]
    return found + [(f"{corpus} (to the rule)", CORPORA[corpus], True, True) for corpus in sorted(BARE_NAMES)]


def main() -> None:
    """Print one Markdown table: recall per kind per corpus, then the near-miss false positives."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--show", action="store_true", help="list the misses and false positives")
    args = parser.parse_args()
    table: dict[str, dict[str, tuple[int, int]]] = {}
    shown: list[str] = []
    heads = [name for name, _, _, _ in columns()]
    for name, prefix, all_pii, rule in columns():
        for kind, text, secrets in rows(f"{prefix}positives.tsv"):
            hits, total = table.setdefault(kind, {}).get(name, (0, 0))
            ok = masked_right(kind, text, to_the_rule(text, secrets) if rule else secrets, all_pii)
            table[kind][name] = (hits + ok, total + 1)
            if not ok:
                shown.append(f"{name} miss ({kind}): {text}")
    print("| kind | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for kind in sorted(table):
        cells = [f"{h}/{t}" for h, t in (table[kind].get(c, (0, 0)) for c in heads)]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    totals = [sum(table[k].get(c, (0, 0))[0] for k in table) for c in heads]
    counts = [sum(table[k].get(c, (0, 0))[1] for k in table) for c in heads]
    print("| all positives | " + " | ".join(f"{h}/{t}" for h, t in zip(totals, counts, strict=True)) + " |")
    changed: dict[str, tuple[list[tuple[str, str]], int]] = {}  # per corpus file: (text, masked) changed, rows
    for corpus, prefix in CORPORA.items():
        texts = [r[1] for r in rows(f"{prefix}near_misses.tsv")]
        masked = [(t, mask_pii(t)) for t in texts]
        changed[prefix] = ([(t, m) for t, m in masked if m != t], len(texts))
        shown += [f"{corpus} false positive: {t} -> {m}" for t, m in changed[prefix][0]]
    cells = [f"{len(changed[prefix][0])}/{changed[prefix][1]}" for _, prefix, _, _ in columns()]
    print("| near misses changed | " + " | ".join(cells) + " |")
    if args.show:
        print("\n".join(shown))


if __name__ == "__main__":
    main()
