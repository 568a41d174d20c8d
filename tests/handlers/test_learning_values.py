"""Signed values of the learning surfaces: each kind verifies only as itself, edits and other keys are refused,
and long questions still fit Slack's limits. Plus the fake's view-state helper. Pure, no servers."""

from __future__ import annotations

import json

import pytest

from handlers import learning_values as values
from services.admin_commands import AdminAction, UsageError, parse_admin
from services.signing import Keyring
from tests.fakes.slack_views import view_state

KEYS, OTHER_KEYS = Keyring("k" * 40), Keyring("o" * 40)


def test_a_gap_value_opens_only_its_own_action() -> None:
    value = values.gap_value(KEYS, "teach", "gap-1")
    assert values.read_gap(KEYS, "teach", value) == "gap-1"
    assert values.read_gap(KEYS, "ignore", value) is None
    assert values.read_gap(OTHER_KEYS, "teach", value) is None
    assert values.read_gap(KEYS, "teach", value.replace("gap-1", "gap-2")) is None
    assert values.read_gap(KEYS, "teach", json.dumps({"a": "teach", "g": "gap-1"})) is None
    assert values.read_gap(KEYS, "teach", None) is None


@pytest.mark.parametrize(
    ("build", "read"),
    [
        (lambda: values.entry_value(KEYS, "faq", 7), lambda v: values.read_notify(KEYS, v)),
        (lambda: values.notify_value(KEYS, "질문", "U1"), lambda v: values.read_entry(KEYS, v)),
        (lambda: values.modal_meta(KEYS, "faq", "g"), lambda v: values.read_modal_meta(KEYS, "section", v)),
        (lambda: values.gap_value(KEYS, "faq", "g"), lambda v: values.read_modal_meta(KEYS, "faq", v)),
    ],
)
def test_a_value_of_one_kind_never_reads_as_another(build: object, read: object) -> None:
    assert callable(build) and callable(read)
    assert read(build()) is None


def test_round_trips_and_limits() -> None:
    assert values.read_entry(KEYS, values.entry_value(KEYS, "synonym", 3)) == values.EntryValue("synonym", 3)
    long_question = '가&<>"' * 600
    notify = values.notify_value(KEYS, long_question, "U1")
    assert len(notify) <= 2000
    read = values.read_notify(KEYS, notify)
    assert read is not None and read.owner == "U1" and long_question.startswith(read.question)
    meta = values.modal_meta(KEYS, "synonym", "g", tuple(f"단어{i}" * 20 for i in range(100)))
    parsed = values.read_modal_meta(KEYS, "synonym", meta)
    assert len(meta) <= 3000 and parsed is not None and 0 < len(parsed.items) < 100


def test_view_state_reports_what_was_typed_and_picked() -> None:
    option = {"text": {"type": "plain_text", "text": "복리후생"}, "value": "welfare"}
    view = {
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "안내"}},
            {"type": "input", "block_id": "q", "element": {"type": "plain_text_input", "action_id": "value",
                                                          "initial_value": "처음"}},
            {"type": "input", "block_id": "c", "element": {"type": "static_select", "action_id": "value",
                                                          "options": [option]}},
            {"type": "input", "block_id": "x", "element": {"type": "checkboxes", "action_id": "value",
                                                          "options": [option], "initial_options": [option]}},
        ]
    }  # fmt: skip
    state = view_state(view, {"c": "welfare"})
    assert state["q"]["value"] == {"type": "plain_text_input", "value": "처음"}
    assert state["c"]["value"]["selected_option"] == option
    assert state["x"]["value"]["selected_options"] == [option]
    with pytest.raises(AssertionError):
        view_state(view, {"c": "not-an-option"})
    with pytest.raises(AssertionError):
        view_state(view, {"missing": "x"})


@pytest.mark.parametrize(
    ("text", "action", "days", "section"),
    [
        ("gaps", AdminAction.GAPS, 7, None),
        ("gaps 30d", AdminAction.GAPS, 30, None),
        ("GAPS 7D", AdminAction.GAPS, 7, None),
        ("learned", AdminAction.LEARNED, 7, None),
        ("learned docs/it.md#3", AdminAction.LEARNED, 7, "docs/it.md#3"),
        ("learned 복지포인트 사용처", AdminAction.LEARNED, 7, "복지포인트 사용처"),
        ("gap", AdminAction.HELP, 7, None),  # near-miss: not a sub-command
    ],
)
def test_learning_sub_commands_parse(text: str, action: AdminAction, days: int, section: str | None) -> None:
    cmd = parse_admin(text)
    assert (cmd.action, cmd.days, cmd.section) == (action, days, section)


@pytest.mark.parametrize("text", ["gaps 90d", "gaps 14", "gaps week"])
def test_gap_periods_other_than_7d_and_30d_are_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_admin(text)
    assert err.value.reason == "bad_gap_period"
