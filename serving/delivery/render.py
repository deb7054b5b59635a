"""A ``Message`` laid out for each channel: plain text and HTML (Jinja2), Slack, Teams, JSON.

Slack: an incoming-webhook body with ``text`` (the notification fallback) and Block Kit
``blocks`` in mrkdwn. Teams: a ``message`` with one Adaptive Card attachment (schema 1.4), the
format Teams' incoming webhooks and Workflows accept. Generic: the message as plain JSON, every
number kept as a number, for the signed webhook.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from serving.delivery.messages import Line, Message

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_text(message: Message) -> str:
    """The plain-text body (the email's text/plain part)."""
    return _environment().get_template("message.txt.j2").render(message=message)


def render_html(message: Message) -> str:
    """The HTML body (the email's text/html part); every value is HTML-escaped."""
    return _environment().get_template("message.html.j2").render(message=message)


def _slack_escape(text: str) -> str:
    """Slack's three control characters in mrkdwn (its documented escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_line(line: Line) -> str:
    title = _slack_escape(line.headline)
    if line.link:
        title = f"<{line.link}|{title}>"
    if line.rules:
        title += f" *[{_slack_escape(', '.join(line.rules))}]*"
    return f"• {title}" + (f"\n    {_slack_escape(line.reason)}" if line.reason else "")


def slack_payload(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook body: header, intro and one mrkdwn section per message
    section (Slack caps a section's text at 3,000 characters; a section is cut there)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.intro)}},
    ]
    for section in message.sections:
        lines = [f"*{_slack_escape(section.heading)}*", *map(_slack_line, section.lines)]
        if section.more:
            lines.append(f"... and {section.more} more")
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}
        )
    return {"text": message.subject, "blocks": blocks}


def _teams_line(line: Line) -> str:
    title = f"[{line.headline}]({line.link})" if line.link else line.headline
    if line.rules:
        title += f" **[{', '.join(line.rules)}]**"
    return f"- {title}" + (f"\n  {line.reason}" if line.reason else "")


def teams_payload(message: Message) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook body: one Adaptive Card with the subject, the intro
    and a markdown list per section."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.subject, "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": message.intro, "wrap": True},
    ]
    for section in message.sections:
        body.append({"type": "TextBlock", "text": section.heading, "weight": "Bolder"})
        lines = [_teams_line(line) for line in section.lines]
        if section.more:
            lines.append(f"... and {section.more} more")
        body.append({"type": "TextBlock", "text": "\n".join(lines), "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def generic_payload(message: Message) -> dict[str, Any]:
    """The signed webhook's body: ``event`` (``salesradar.digest`` / ``salesradar.alert``) and
    the whole message with each line's numbers (score, previous score, tiers, value)."""
    return {"event": f"salesradar.{message.kind}", **asdict(message)}


def to_json_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
