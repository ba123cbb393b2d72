"""The load: ``POST /api/v1/cases`` intakes, each with its own ``Idempotency-Key``, paced and at a
modest concurrency, retried with the same key on a 5xx, a timeout or a connection error."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

KINDS = ("repair", "installation", "complaint", "consultation")
CHANNELS = ("hotline", "wechat", "website", "app", "store")
NORMAL = ("柜门合页松动,关不严", "地板有一处起翘", "想咨询一下保养方法", "安装师傅迟到两个小时", "墙面有细小裂缝")
EMERGENCY = "卫生间漏水,楼下邻居投诉"  # 漏水: the policy's emergency keywords make it an emergency
GIVE_UP_AFTER = 300.0  # seconds of retries before an intake counts as lost at the client


def intake(run: str, i: int) -> dict:
    """The i-th intake: the kinds in turn, every fifth an emergency (a leak)."""
    emergency = i % 5 == 4
    return {
        "kind": KINDS[i % len(KINDS)],
        "channel": CHANNELS[i % len(CHANNELS)],
        "customer_name": f"测试客户{i:04d}",
        "phone": f"139{int(run, 16) % 10000:04d}{i:04d}",
        "address": f"上海市浦东新区锦绣路{i + 1}号",
        "description": EMERGENCY if emergency else NORMAL[i % len(NORMAL)],
    }


@dataclass
class Attempt:
    i: int
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection error, timeout)
    error: str = ""
    case_no: str | None = None
    replayed: bool = False


@dataclass
class Intake:
    i: int
    key: str
    body: dict
    attempts: list[Attempt] = field(default_factory=list)
    case_no: str | None = None  # from the first 2xx
    case_nos: set[str] = field(default_factory=set)  # from every 2xx (more than one: doubled)
    final_status: int | None = None

    @property
    def expected_severity(self) -> str:
        return "emergency" if self.i % 5 == 4 else "normal"


async def _one(client: httpx.AsyncClient, url: str, token: str, item: Intake, timeout: float) -> None:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": item.key}
    pause = 0.5
    first = time.time()
    while True:
        started = time.time()
        try:
            response = await client.post(url, json=item.body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:  # connection refused or reset, timeout
            item.attempts.append(Attempt(item.i, started, time.time(), None, type(exc).__name__))
        else:
            attempt = Attempt(item.i, started, time.time(), response.status_code)
            item.attempts.append(attempt)
            if response.is_success:
                data = response.json()
                attempt.case_no = data.get("case_no")
                attempt.replayed = response.headers.get("Idempotent-Replayed") == "true"
                item.case_no = item.case_no or attempt.case_no
                item.case_nos.add(attempt.case_no)
                item.final_status = response.status_code
                return
            attempt.error = response.text[:300]
            if response.status_code < 500:  # the bench's own mistake, or a product refusal: not retried
                item.final_status = response.status_code
                return
        if time.time() - first > GIVE_UP_AFTER:
            return
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 3.0)


async def drive(base_url: str, token: str, run: str, count: int, rate: float, concurrency: int,
                timeout: float = 60.0) -> list[Intake]:
    """Start intake i at ``i / rate`` seconds (or as soon as one of ``concurrency`` slots is free)."""
    items = [Intake(i, f"bench-{run}-{i:04d}", intake(run, i)) for i in range(count)]
    slots = asyncio.Semaphore(concurrency)
    url = f"{base_url}/api/v1/cases"
    start = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def paced(item: Intake) -> None:
            await asyncio.sleep(max(0.0, start + item.i / rate - time.monotonic()))
            async with slots:
                await _one(client, url, token, item, timeout)

        await asyncio.gather(*(paced(item) for item in items))
    return items
