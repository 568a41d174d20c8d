"""The `endy` command: ask, chat, kb stats, kb eval."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from config.settings import ConfigError, Settings
from endy_bot import __version__
from endy_bot.deps import Deps, build_retriever, knowledge_root, open_deps, run_migrate
from endy_bot.evaluation import EvalError, evaluate, format_report, load_devset
from endy_bot.terminal import answer_footer, kb_stats
from handlers import texts
from services.answer_types import Asker, Turn
from services.errors import InvalidQuestion, InvalidReason, KnowledgeError, RateLimited
from services.knowledge import load_knowledge_base
from services.logging import configure_logging
from services.migrate import MigrationError

_EXIT_WORDS = {"종료", "exit", "quit", "/exit", "/quit", "q"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="endy", description="엔디 — 사내 생활 도우미")
    parser.add_argument("--version", action="version", version=f"endy {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show info logs on the console")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question", nargs="+")
    sub.add_parser("chat", help="interactive chat with follow-ups")
    sub.add_parser("serve", help="run the Slack app and the sidecar (SLACK_MODE=socket|http)")
    rep = sub.add_parser("report", help="the admin feedback report in the terminal")
    rep.add_argument("--days", type=int, default=7, choices=range(1, 366), metavar="DAYS")
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--status", action="store_true", help="list migrations and whether they are applied")
    kb = sub.add_parser("kb", help="knowledge base tools").add_subparsers(dest="kb_command", required=True)
    stats = kb.add_parser("stats", help="summarise the loaded knowledge base")
    stats.add_argument("--kb", type=Path, help="knowledge folder (default: KNOWLEDGE_DIR or the sample)")
    ev = kb.add_parser("eval", help="retrieval hit@1/hit@3/MRR on a JSONL dev set")
    ev.add_argument("file", type=Path)
    ev.add_argument("--kb", type=Path, help="knowledge folder (default: KNOWLEDGE_DIR or the sample)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `endy` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as err:  # pydantic's ValidationError names the variable and the problem
        print(f"{texts.CONFIG_ERROR}\n{err}", file=sys.stderr)
        return 2
    configure_logging(settings, console_level="INFO" if args.verbose else "WARNING")
    try:
        if args.command == "kb":
            return _kb(args, settings)
        if args.command == "serve":
            from endy_bot.runtime import serve  # Bolt is only imported by the Slack door

            return asyncio.run(serve(settings))
        if args.command == "report":
            return asyncio.run(_report(settings, args.days))
        if args.command == "migrate":
            return asyncio.run(run_migrate(settings, status=args.status))
        return asyncio.run(_ask(settings, " ".join(args.question)) if args.command == "ask" else _chat(settings))
    except (ConfigError, MigrationError) as err:
        print(f"{texts.CONFIG_ERROR}\n{err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _kb(args: argparse.Namespace, settings: Settings) -> int:
    root = args.kb or knowledge_root(settings)
    try:
        kb = load_knowledge_base(root)
    except KnowledgeError as err:
        print(f"⚠️ {err}", file=sys.stderr)
        return 2
    if args.kb_command == "stats":
        print(kb_stats(kb))
        return 0
    try:
        cases = load_devset(args.file)
    except EvalError as err:
        print(f"⚠️ {err}", file=sys.stderr)
        return 2
    report = evaluate(build_retriever(kb, settings), cases)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else format_report(report))
    return 0


def _cli_asker(thread_ts: str | None = None) -> Asker:
    """The terminal user: rate-limited and recorded like a Slack user (surface cli)."""
    return Asker(
        user_id=f"cli:{getpass.getuser()}", team_id="local", surface="cli", channel_id="terminal", thread_ts=thread_ts
    )


async def _respond(deps: Deps, question: str, history: list[Turn], asker: Asker) -> None:
    """Stream one answer to stdout, then its footer; append the exchange to history."""
    try:
        stream = await deps.answers.stream(question, asker, history)
    except InvalidQuestion as err:
        print(
            texts.help_text(deps.kb.categories)
            if err.reason is InvalidReason.EMPTY
            else texts.too_long(err.limit, err.length)
        )
        return
    except RateLimited as err:
        print(texts.rate_limited(err.retry_after))
        return
    async for chunk in stream:
        sys.stdout.write(chunk)
        sys.stdout.flush()
    answer = stream.result
    if answer.text:
        sys.stdout.write("\n")
    print(answer_footer(answer))
    history.append(Turn(answer.question, answer.text))


async def _report(settings: Settings, days: int) -> int:
    from handlers.admin_view import report_lines  # rendering shared with Slack

    async with open_deps(settings) as deps:
        report = await deps.admin.report(days)
        print("\n".join(line.replace("*", "") for line in report_lines(report, deps.kb)))
    return 0


async def _ask(settings: Settings, question: str) -> int:
    async with open_deps(settings) as deps:
        await _respond(deps, question, [], _cli_asker())
    return 0


async def _chat(settings: Settings) -> int:
    async with open_deps(settings) as deps:
        print(texts.CHAT_WELCOME)
        history: list[Turn] = []
        asker = _cli_asker(thread_ts=uuid.uuid4().hex)  # one conversation per chat session
        while True:
            try:
                line = await asyncio.to_thread(input, texts.CHAT_PROMPT)
            except EOFError:
                break
            if line.strip().lower() in _EXIT_WORDS:
                break
            await _respond(deps, line, history, asker)
            print()
        print(texts.CHAT_BYE)
    return 0
