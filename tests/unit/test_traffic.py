"""`tally send`'s traffic generator agrees with the processor on what is a bot: its summary
breaks accepted events down as the aggregates count them, so it must call a bot what
processor_lambda/useragent.py calls one, and nothing else."""

import random

import pytest

from processor_lambda.useragent import parse
from tally_cli import traffic


@pytest.mark.parametrize("user_agent", [agent for agent, _ in traffic.HUMAN_AGENTS] + [traffic.SENDER_AGENT])
def test_human_agents_are_not_bots_to_the_processor(user_agent: str) -> None:
    assert user_agent not in traffic.BOTS
    assert parse(user_agent).bot is False


@pytest.mark.parametrize("user_agent", sorted(traffic.BOTS))
def test_bot_agents_are_bots_to_the_processor(user_agent: str) -> None:
    assert parse(user_agent).bot is True


def test_is_bot_follows_the_user_agent_an_event_ends_with() -> None:
    with_identity = traffic.Traffic(random.Random(3), visitors=50)
    events = [with_identity.event() for _ in range(300)]
    assert {with_identity.is_bot(e) for e in events} == {True, False}
    assert all(with_identity.is_bot(e) == parse(e["user_agent"]).bot for e in events)
    # Without the secret key events carry no user agent: the request's own header counts.
    anonymous = traffic.Traffic(random.Random(3), with_identity=False)
    assert not any(anonymous.is_bot(anonymous.event()) for _ in range(100))


def test_summary_counts_only_accepted_events() -> None:
    summary = traffic.Summary()
    events = [{"url": "u"}, {"url": "u", "name": "signup"}, {"url": "u", "user_agent": "curl/8.5.0"}, {"url": "u"}]
    payload = b'{"accepted": 3, "rejected": [{"index": 3, "error": "bad_field"}]}'
    accepted = traffic.Sender._count(207, payload, len(events), summary)
    assert accepted == [0, 1, 2]
    for index in accepted:
        summary.accept(events[index], traffic.Traffic(random.Random(0)).is_bot(events[index]))
    assert summary.names == {"pageview": 1, "signup": 1} and summary.bots == 1
    assert summary.rejected == {"bad_field": 1}
    assert traffic.Sender._count(503, b'{"error": "unavailable"}', 2, summary) == []
