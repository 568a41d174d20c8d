"""Filling in a modal the way Slack reports it: ``view.state.values`` for a ``view_submission`` (or a
``block_actions`` inside a view) from what a person typed and picked, checked against the view's own blocks.

Element states follow Slack's reference: ``plain_text_input`` / ``url_text_input`` → ``value``;
``static_select`` / ``radio_buttons`` → ``selected_option`` (the option as the view lists it);
``checkboxes`` → ``selected_options``. Picking an option the view does not offer is a test mistake and raises;
a test forging a payload builds the state itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TEXT = ("plain_text_input", "url_text_input", "email_text_input", "number_input")
_ONE = ("static_select", "radio_buttons")


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in element.get("options") or []:
        if option.get("value") == value:
            return dict(option)
    raise AssertionError(f"{value!r} is not an option of {element.get('action_id')!r}")


def element_state(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    """The state Slack reports for one input element given what was typed (str) or picked (str / list)."""
    kind = str(element.get("type"))
    if kind in _TEXT:
        return {"type": kind, "value": None if answer is None else str(answer)}
    if kind in _ONE:
        return {"type": kind, "selected_option": None if answer is None else _option(element, str(answer))}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": [_option(element, str(v)) for v in answer or []]}
    raise AssertionError(f"element type {kind!r} is not supported by the fake")


def initial_answer(element: dict[str, Any]) -> Any:
    """What an element holds before anyone touches it (its initial value or options)."""
    if "initial_value" in element:
        return element["initial_value"]
    if "initial_option" in element:
        return element["initial_option"].get("value")
    if "initial_options" in element:
        return [o.get("value") for o in element["initial_options"]]
    return None


def view_state(view: Mapping[str, Any], answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``state.values`` of a modal: every input block's element, holding its initial value unless `answers`
    (block_id → typed text or picked option value(s)) says otherwise."""
    answers = dict(answers or {})
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element, block_id = block["element"], str(block["block_id"])
        answer = answers.pop(block_id) if block_id in answers else initial_answer(element)
        values[block_id] = {str(element["action_id"]): element_state(element, answer)}
    if answers:
        raise AssertionError(f"no input blocks {sorted(answers)} in the view")
    return values


def input_blocks(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The view's input blocks by block_id."""
    return {str(b["block_id"]): b for b in view.get("blocks") or [] if b.get("type") == "input"}
