"""PII masker benchmark: mask_pii time per MiB of ordinary Korean workplace text and of adversarial text.

Run: .venv/bin/python bench/mask.py [--runs 3] [--mib 1]
Prints a Markdown table (CPU time, median of the runs, min–max) for docs/benchmarks.md. Each input is masked as one
string and as the 8 KiB records the log sink hands over; "× ordinary" compares the fastest one-string runs
(noise on a shared machine only ever adds time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.privacy import mask_pii  # noqa: E402

MIB = 1 << 20
RECORD = 8 << 10


def ordinary_base() -> str:
    """The bundled handbook, the evaluation questions and the masker's near-misses: everyday text."""
    docs = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "endy_bot" / "sample_kb").rglob("*.md"))]
    data = ROOT / "tests" / "data"
    lines = (data / "devset.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [str(json.loads(line)["question"]) for line in lines if line.strip()]
    misses = (data / "pii" / "near_misses.tsv").read_text(encoding="utf-8").splitlines()[3:]
    return "\n".join(docs + questions + [m.split("\t", 1)[-1] for m in misses]) + "\n"


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "digit run, no separators": lambda i: "0123456789"[i % 10],
    "digits with separators": lambda i: "010-1234-567 82 10 1234 _1/2.3 - 4 "[i % 35],
    "grouped digits (cards, accounts)": lambda i: f"{i % 10000:04d} " if i % 5 else f"{i % 1000:03d}-",
    "thousands of '@'": lambda i: "@",
    "local@ near-emails": lambda i: "a.b_c@d" if i % 2 else "@e.",
    "(at) / [at] obfuscations": lambda i: "hong (at) encar [at] " if i % 2 else "x(dot)",
    "repeated label words": lambda i: "계좌 사번 카드 여권 면허 주소 주민번호 앞자리 1".split()[i % 9] + " ",
    "labels + short numbers": lambda i: ["계좌 1", "사번 E1", "여권 M1", "면허 11-", "카드 4111 "][i % 5],
    "nested near-matches": lambda i: ["010-1234-567", "900101-123456", "12가345", "테헤란로 12345", "김민수 과장 "][
        i % 5
    ],
    "Hangul road-like words + numbers": lambda i: ["메일로 3번 ", "기본으로 15일 ", "코드로 404를 ", "서울시 "][i % 4],
    "names near phones": lambda i: ["김민수 과장 ", "010-1234-5678 ", "박지영님 "][i % 3],
    "full-width and zero-width": lambda i: ["０１０－１２３４", "\u200b", "５６７８", "·"][i % 4],
    "spelled-out e-mails (골뱅이, 앳, at … dot)": lambda i: ["hong 골뱅이 ", "a.b at c ", "dot ", "앳 x 닷 ", ". "][
        i % 5
    ],
    "lots and units (동 123-45, 101동 1203호)": lambda i: ["역삼동 123-4 ", "래미안 ", "101동 ", "1203호 ", "주소 "][
        i % 5
    ],
    "hidden and split 주민번호": lambda i: ["주민번호 840606-2", "*****", " 앞 ", "930108 ", "뒤 "][i % 5],
    "passport groups, corrections": lambda i: ["여권 M ", "1234 ", "5678 ", "A ", "아니고 "][i % 5],
    "label cells heading table columns": lambda i: ["사번,", "여권번호|", "계좌\t", "K2019", "\n", "|M12", ","][i % 7],
    "glued plates, FRN-like numbers, 82 prefixes, titles": lambda i: [
        "서울12가345 ",
        "arc_no=960804-872159",
        "8210-4456-221 ",
        "여권 PM ",
        "배현우 기사님 ",
        "12가3456 명의",
    ][i % 6],
}


def sized(piece: Callable[[int], str], mib: float) -> str:
    """Repeat ``piece(i)`` until the UTF-8 text reaches ``mib`` MiB."""
    out: list[str] = []
    size = i = 0
    while size < mib * MIB:
        chunk = piece(i)
        out.append(chunk)
        size += len(chunk.encode())
        i += 1
    return "".join(out)


def timed(texts: list[str]) -> float:
    """CPU seconds of this process to mask every text once (other processes on a shared machine do not count)."""
    start = time.process_time()
    for text in texts:
        mask_pii(text)
    return time.process_time() - start


def records(text: str) -> list[str]:
    """The text cut into 8 KiB records (UTF-8), as the log sink hands them to the masker."""
    step = RECORD // max(1, round(len(text.encode()) / len(text)))
    return [text[i : i + step] for i in range(0, len(text), step)]


def cell(values: list[float]) -> str:
    """Median (min–max)."""
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def main() -> None:
    """Time every input in rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=float, default=1.0)
    args = parser.parse_args()
    base = ordinary_base()
    inputs = {"ordinary (handbook, questions, near-misses)": sized(lambda i: base, args.mib)}
    inputs |= {f"adversarial: {name}": sized(piece, args.mib) for name, piece in ADVERSARIAL.items()}
    split = {name: records(text) for name, text in inputs.items()}
    whole: dict[str, list[float]] = {name: [] for name in inputs}
    parts: dict[str, list[float]] = {name: [] for name in inputs}
    for _ in range(args.runs):  # rounds over every input, so a busy moment on a shared machine hits all alike
        for name, text in inputs.items():
            whole[name].append(timed([text]) * 1000 / args.mib)
            parts[name].append(timed(split[name]) * 1000 / args.mib)
    print(f"mask_pii, CPU ms per MiB: median of {args.runs} runs (min–max); × ordinary compares the fastest runs\n")
    print("| input | one string | 8 KiB records | × ordinary |")
    print("|---|---:|---:|---:|")
    reference = min(next(iter(whole.values())))
    for name in inputs:
        print(f"| {name} | {cell(whole[name])} | {cell(parts[name])} | {min(whole[name]) / reference:.2f} |")


if __name__ == "__main__":
    main()
