"""Jobs as the tests queue them: Tally events as ProcessRequestJob jobs (``tally_job``),
numbered plain jobs for the Redis worker and the drains, and what real Sidekiq wrote for
failing jobs."""

from collections.abc import Sequence
from typing import Any

from tally_contract import envelope
from tally_contract.envelope import JobOptions
from tally_contract.queues.redis_queue import RedisQueue

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)


BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


PRICING = "https://shop.example.com/pricing?utm_source=news"


def tally_job(event_id: str, *, name: str = "pageview", url: str = PRICING, ip: str = "203.0.113.9",
              ua: str = CHROME, at: str = "2026-11-23T13:18:30.000Z", activejob: bool = False,
              referrer: str | None = "https://www.news.example.net/story", **extra: Any) -> str:  # fmt: skip
    event = {"event_id": event_id, "site": "shop", "name": name, "url": url,
             "referrer": referrer, "time": None, "sent_at": None,
             "received_at": at, "event_time": at, "ip": ip, "user_agent": ua,
             "properties": {"plan": "pro"}, **extra}  # fmt: skip
    return envelope.encode(envelope.build([event], JobOptions(activejob=activejob)))


def push(client: Any, bodies: Sequence[str], queue: str = "default") -> None:
    assert RedisQueue(client).push(queue, list(bodies)) == []


def jobs(n: int, **extra: Any) -> list[str]:
    return [envelope.encode(envelope.build([{"n": i}], extra=extra or None)) for i in range(n)]


# Written by the real Sidekiq 6.4.1 (Debian's ruby-sidekiq) for HardWorker jobs raising
# ArgumentError "boom é": what each input became, in the retry set or the dead set.
SIDEKIQ_FAILURES = [
    (
        '{"retry":true,"queue":"default","args":[1],"class":"HardWorker","jid":"aaaaaaaaaaaaaaaaaaaaaaaa",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6}',
        "retry",
        '{"retry":true,"queue":"default","args":[1],"class":"HardWorker","jid":"aaaaaaaaaaaaaaaaaaaaaaaa",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6,"error_message":"boom é","error_class":"ArgumentError",'
        '"failed_at":1795447305.8185577,"retry_count":0}',
    ),
    (
        '{"retry":true,"queue":"default","args":[2],"class":"HardWorker","jid":"bbbbbbbbbbbbbbbbbbbbbbbb",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6,"error_message":"old","error_class":"X",'
        '"failed_at":1795440775.7,"retry_count":0}',
        "retry",
        '{"retry":true,"queue":"default","args":[2],"class":"HardWorker","jid":"bbbbbbbbbbbbbbbbbbbbbbbb",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6,"error_message":"boom é","error_class":"ArgumentError",'
        '"failed_at":1795440775.7,"retry_count":1,"retried_at":1795447305.8245883}',
    ),
    (
        '{"retry":0,"queue":"default","args":[3],"class":"HardWorker","jid":"cccccccccccccccccccccccc",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6}',
        "dead",
        '{"retry":0,"queue":"default","args":[3],"class":"HardWorker","jid":"cccccccccccccccccccccccc",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6,"error_message":"boom é","error_class":"ArgumentError",'
        '"failed_at":1795447305.8252423,"retry_count":0}',
    ),
    (
        '{"retry":5,"queue":"default","backtrace":2,"retry_queue":"low","args":[5],"class":"HardWorker",'
        '"jid":"eeeeeeeeeeeeeeeeeeeeeeee","created_at":1795440775.5,"enqueued_at":1795440775.6}',
        "retry",
        '{"retry":5,"queue":"low","backtrace":2,"retry_queue":"low","args":[5],"class":"HardWorker",'
        '"jid":"eeeeeeeeeeeeeeeeeeeeeeee","created_at":1795440775.5,"enqueued_at":1795440775.6,'
        '"error_message":"boom é","error_class":"ArgumentError","failed_at":1795447305.8260453,"retry_count":0,'
        '"error_backtrace":"eJw1zcEKwjAMANBfkV52cQ0DmbhfEZntjDO2XbqkRf17ceD1Xd7ZQEkZdA3w\\nYgkoVvxwHGjZXTPKnSU1Zm+gqoA+nCBI'
        '9Z8Zk7a0FJzFFeIFXIzwQ1C6YaC1\\n7e3BdhDJ/wWy8ISqvAXdqd8KfONUC45P9o25fAG5sDHC\\n"}',
    ),
    (
        '{"queue":"default","args":[6],"class":"HardWorker","jid":"ffffffffffffffffffffffff",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6}',
        "retry",
        '{"queue":"default","args":[6],"class":"HardWorker","jid":"ffffffffffffffffffffffff",'
        '"created_at":1795440775.5,"enqueued_at":1795440775.6,"retry":true,"error_message":"boom é",'
        '"error_class":"ArgumentError","failed_at":1795447305.826574,"retry_count":0}',
    ),
]


def holding(client: Any) -> bool:
    return any(client.llen(key) for key in client.scan_iter("queue:default:processing:*"))
