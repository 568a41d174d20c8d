"""The `endy` command: ask, chat, serve, doctor, report, migrate, kb stats, kb eval, kb import, kb export-learned."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import ConfigError, Settings, load_settings
from endy_bot import __version__
from endy_bot.signals import cancel_on_signals, read_line
from handlers import texts
from services import kb_texts
from services.errors import KnowledgeError
from services.knowledge import KnowledgeBase, load_knowledge_base, sample_kb_dir
from services.logging import configure_logging

# What only some commands use is imported by them (`endy kb stats` must not pay for openai, asyncpg, Redis,
# bm25s, numpy or Kiwi: see `python -X importtime -m endy_bot kb stats`).
if TYPE_CHECKING:
    from endy_bot.deps import Deps
    from endy_bot.evaluation import EvalCase, EvalReport
    from services.answer_types import Asker, Turn

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
    sub.add_parser("doctor", help="check settings, Slack, storage, the LLM and the knowledge folder (exit 0/1/2)")
    rep = sub.add_parser("report", help="the admin feedback report in the terminal")
    rep.add_argument("--days", type=_report_days, default=7, metavar="DAYS", help="period in days, 1-365 (default 7)")
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--status", action="store_true", help="list migrations and whether they are applied")
    kb = sub.add_parser("kb", help="knowledge base tools").add_subparsers(dest="kb_command", required=True)
    stats = kb.add_parser("stats", help="summarise the loaded knowledge base")
    stats.add_argument("--kb", type=Path, help="knowledge folder (default: KNOWLEDGE_DIR or the sample)")
    stats.add_argument("--strict", action="store_true", help="exit 1 on warnings too, not only on problems (for CI)")
    ev = kb.add_parser("eval", help="retrieval hit@1/hit@3/MRR on a JSONL dev set")
    ev.add_argument("file", type=Path)
    ev.add_argument("--kb", type=Path, help="knowledge folder (default: KNOWLEDGE_DIR or the sample)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--out-of-scope", type=Path, help="questions the knowledge base must not answer, one per line")
    imp = kb.add_parser("import", help="turn a FAQ spreadsheet (CSV) or JSON file into faq.yaml")
    imp.add_argument("file", type=Path)
    imp.add_argument("--out", type=Path, help="output file (default: KNOWLEDGE_DIR/faq.yaml or ./faq.yaml)")
    imp.add_argument("--force", action="store_true", help="overwrite an existing output file")
    exp = kb.add_parser("export-learned", help="write knowledge learned in Slack as faq.yaml and kb.yaml into DIR")
    exp.add_argument("dir", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `endy` console script."""
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # invalid settings are its first ❌, not a refusal to run
        from endy_bot.doctor import run as run_doctor

        return run_doctor()
    try:
        settings = load_settings()
    except (ConfigError, ValueError) as err:  # every invalid variable and (in production) every refusal, at once
        print(f"{texts.CONFIG_ERROR}\n{err}", file=sys.stderr)
        return 2
    configure_logging(settings, console_level="INFO" if args.verbose else "WARNING")
    try:
        if args.command == "kb":
            return _kb(args, settings)
        if args.command == "serve":
            return _serve(settings)
        return _run_with_storage(args, settings)
    except ConfigError as err:
        print(f"{texts.CONFIG_ERROR}\n{err}", file=sys.stderr)
        return 2
    except KnowledgeError as err:  # KNOWLEDGE_DIR does not exist: refused before anything was started
        print(_folder_error(err, kb_texts.HINT_KNOWLEDGE_DIR), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run_with_storage(args: argparse.Namespace, settings: Settings) -> int:
    """ask, chat, report, migrate: the commands that open PostgreSQL and Redis (imported only for them)."""
    from services.migrate import MigrationError

    if args.command == "report":
        command = _report(settings, args.days)
    elif args.command == "migrate":
        command = _migrate(settings, status=args.status)
    else:
        command = _ask(settings, " ".join(args.question)) if args.command == "ask" else _chat(settings)
    try:
        return asyncio.run(cancel_on_signals(command))  # SIGTERM too stops the embedded servers
    except MigrationError as err:
        print(f"{texts.CONFIG_ERROR}\n{err}", file=sys.stderr)
        return 2


def _serve(settings: Settings) -> int:
    from endy_bot.runtime import serve  # Bolt is only imported by the Slack door
    from endy_bot.slack_link import SlackTokenError

    try:
        return asyncio.run(serve(settings))
    except SlackTokenError as err:  # refused by Slack (invalid, revoked, swapped): one line, everything stopped
        print(err.line, file=sys.stderr)
        return 2


def _kb(args: argparse.Namespace, settings: Settings) -> int:
    if args.kb_command == "import":
        return _kb_import(args, settings)
    if args.kb_command == "export-learned":
        from endy_bot.learning_cli import export_learned  # only this subcommand needs asyncpg and the store

        root = settings.knowledge_dir or sample_kb_dir()  # endy_bot.deps.knowledge_root, without its imports
        return asyncio.run(cancel_on_signals(export_learned(settings, args.dir, root)))
    root = args.kb or settings.knowledge_dir or sample_kb_dir()  # endy_bot.deps.knowledge_root, without its imports
    try:
        kb = load_knowledge_base(root)
    except KnowledgeError as err:
        print(_folder_error(err, kb_texts.HINT_KB_OPTION if args.kb else kb_texts.HINT_KNOWLEDGE_DIR), file=sys.stderr)
        return 2
    if args.kb_command == "stats":
        from handlers.kb_view import kb_stats

        print(kb_stats(kb))
        return kb_exit_code(kb, strict=args.strict)
    from endy_bot.evaluation import EvalError, load_devset, load_out_of_scope

    try:
        cases = load_devset(args.file)
        out_of_scope = load_out_of_scope(args.out_of_scope) if args.out_of_scope else None
    except EvalError as err:
        print(f"⚠️ {err}", file=sys.stderr)
        return 2
    from endy_bot.evaluation import format_report

    report = asyncio.run(_evaluate(settings, kb, cases, out_of_scope))
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else format_report(report))
    return 0


def kb_exit_code(kb: KnowledgeBase, *, strict: bool) -> int:
    """`endy kb stats` for CI: 1 when there are problems (with --strict, warnings too), else 0."""
    return 1 if kb.errors or (strict and kb.warnings) else 0


def _folder_error(err: KnowledgeError, hint: str) -> str:
    """One line for a knowledge folder that cannot be read at all, naming the setting to fix."""
    return f"⚠️ {err.path}: {err.message}. {hint}"


async def _evaluate(
    settings: Settings, kb: KnowledgeBase, cases: list[EvalCase], out_of_scope: list[str] | None
) -> EvalReport:
    """The production answer pipeline (LLM when configured; no rate limit, cache or recording)."""
    from endy_bot.deps import build_retriever
    from endy_bot.evaluation import evaluate
    from services.answering import AnswerService
    from services.llm import LlmClient

    llm = LlmClient(settings) if settings.llm_enabled else None
    try:
        service = AnswerService(
            kb,
            build_retriever(kb, settings),
            llm,
            max_question_chars=settings.max_question_chars,
            min_confidence=settings.answer_min_confidence,
            hedge_confidence=settings.answer_hedge_confidence,
        )
        return await evaluate(service, cases, out_of_scope)
    finally:
        if llm is not None:
            await llm.aclose()


def _kb_import(args: argparse.Namespace, settings: Settings) -> int:
    from services.kb_import import FaqImportError, import_faq, write_faq_yaml

    out: Path = args.out or (settings.knowledge_dir or Path()) / "faq.yaml"
    try:
        result = import_faq(args.file)
    except FaqImportError as err:
        print(f"⚠️ {err}", file=sys.stderr)
        return 2
    problems = [f"  행 {p.row}: {p.reason}" for p in result.problems]
    if not result.entries:
        print("\n".join([f"⚠️ 쓸 수 있는 FAQ 항목이 없어서 {out}을(를) 만들지 않았어요.", *problems]))
        return 1
    try:
        write_faq_yaml(result.entries, out, force=args.force)
    except FaqImportError as err:
        print(f"⚠️ {err}", file=sys.stderr)
        return 2
    skipped = f", 건너뛴 행 {len(problems)}개" if problems else ""
    print("\n".join([f"{out}에 FAQ {len(result.entries)}개를 썼어요 (인코딩 {result.encoding}{skipped}).", *problems]))
    return 0


def _cli_asker(thread_ts: str | None = None) -> Asker:
    """The terminal user: rate-limited and recorded like a Slack user (surface cli)."""
    from services.answer_types import Asker

    return Asker(
        user_id=f"cli:{getpass.getuser()}", team_id="local", surface="cli", channel_id="terminal", thread_ts=thread_ts
    )


async def _respond(deps: Deps, question: str, history: list[Turn], asker: Asker, *, endpoint: str) -> None:
    """Stream one answer to stdout, then its footer; append the exchange to history. Counted like the Slack doors
    count theirs (api_requests_total / api_response_seconds, method="cli", endpoint ask or chat)."""
    from endy_bot.terminal import answer_footer, write_answer
    from handlers.outcomes import STATUS, Notice, ask
    from services.answer_types import Turn

    started = time.perf_counter()
    status = "error"
    try:
        stream = await ask(deps.answers, question, asker, history)
        if isinstance(stream, Notice):  # refused at the door: the same notice Slack shows
            status = str(STATUS[stream.outcome])
            print(stream.text)
            return
        await write_answer(stream, _write, deps.answers.kb_links)
        answer = stream.result
        print(answer_footer(answer))
        history.append(Turn(answer.question, answer.text))
        status = "ok"
        deps.metrics.api_response.labels("cli", endpoint).observe(time.perf_counter() - started)
    finally:
        deps.metrics.api_requests.labels("cli", endpoint, status).inc()


async def _migrate(settings: Settings, *, status: bool) -> int:
    """`endy migrate [--status]`: apply pending migrations or list them."""
    from contextlib import AsyncExitStack

    from services.db import open_pool
    from services.migrate import migrate, migration_status

    async with AsyncExitStack() as stack:
        pool = await open_pool(settings, stack)
        async with pool.acquire() as conn:
            if status:
                for state in await migration_status(conn):
                    mark = "✔" if state.applied_at else "·"
                    when = state.applied_at.isoformat(timespec="seconds") if state.applied_at else "pending"
                    warn = "" if state.checksum_ok else "  ⚠️ changed after it was applied"
                    print(f"{mark} {state.name}  {when}{warn}")
                return 0
            applied = await migrate(conn)
    print("\n".join(f"applied {name}" for name in applied) or "nothing to apply: the schema is up to date")
    return 0


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _report_days(value: str) -> int:
    """`--days`: 1-365; anything else is one Korean line (not argparse's list of every allowed value)."""
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= 365:
        raise argparse.ArgumentTypeError(texts.REPORT_DAYS_INVALID.format(value=value))
    return days


async def _report(settings: Settings, days: int) -> int:
    from endy_bot.deps import open_deps
    from handlers.admin_view import report_lines  # rendering shared with Slack

    async with open_deps(settings) as deps:
        report = await deps.admin.report(days)
        print("\n".join(report_lines(report, deps.kb, plain=True)))  # as typed: no mrkdwn, no Slack escaping
    return 0


async def _ask(settings: Settings, question: str) -> int:
    from endy_bot.deps import open_deps

    async with open_deps(settings) as deps:
        await _respond(deps, question, [], _cli_asker(), endpoint="ask")
    return 0


async def _chat(settings: Settings) -> int:
    from endy_bot.deps import open_deps

    async with open_deps(settings) as deps:
        print(texts.CHAT_WELCOME)
        history: list[Turn] = []
        asker = _cli_asker(thread_ts=uuid.uuid4().hex)  # one conversation per chat session
        while True:
            try:
                line = await read_line(texts.CHAT_PROMPT)  # a Ctrl-C at the prompt ends chat at once
            except EOFError:
                break
            if line.strip().lower() in _EXIT_WORDS:
                break
            await _respond(deps, line, history, asker, endpoint="chat")
            print()
        print(texts.CHAT_BYE)
    return 0
