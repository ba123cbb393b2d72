"""The channels a message leaves by: email over SMTP, the WeCom and DingTalk group robots,
a generic signed webhook, and SMS through an HTTP provider.

Every channel gets the message's outbox key and passes it to the peer (``Message-ID`` for
mail, an ``Idempotency-Key`` header or field for HTTP), so a message sent again after a crash
is recognised by a peer that deduplicates. Each ``send`` returns the provider's answer or
raises ``TemporaryFailure`` (worth retrying: network, 5xx, 429) or ``PermanentFailure``
(retrying cannot help: a 4xx, a refused recipient). Plain blocking calls: they run in the
worker's activity threads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any, Literal, Protocol

import httpx

from domain.delivery import CHANNEL_CONNECT_TIMEOUT, CHANNEL_TIMEOUT

# Connecting is bounded tightly (nothing was sent before the connection stands); sending the
# request and waiting for its answer less so: an answer given up on means sending again, and
# a peer that ignores the key (a chat robot, most mail clients) then shows the message twice.
# The delivery attempt around a send outlasts these (domain.delivery.MIN_ATTEMPT_TIMEOUT).
TIMEOUT = httpx.Timeout(CHANNEL_TIMEOUT, connect=CHANNEL_CONNECT_TIMEOUT)


class DeliveryFailure(Exception):
    """The message did not go through. ``str()`` is the whole story for the outbox (it may
    quote the peer, and so an address); ``code`` is a short reason without personal data,
    fit for logs and workflow histories."""

    def __init__(self, detail: str, code: str):
        super().__init__(detail)
        self.code = code


class TemporaryFailure(DeliveryFailure):
    """The peer could not take it now; a retry may succeed."""


class PermanentFailure(DeliveryFailure):
    """The peer refused it; the same message will never go through."""


@dataclass(frozen=True)
class Message:
    key: str  # the outbox key: the idempotency key every peer sees
    address: str  # email address, phone, or "" for a group robot
    subject: str
    short_text: str  # SMS and chat robots
    long_text: str  # email and webhooks
    data: dict[str, Any] | None = None  # structured fields for a webhook


@dataclass(frozen=True)
class Receipt:
    provider_id: str | None
    response: str  # what the peer answered, for the outbox's record


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> Receipt: ...


def _check(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise TemporaryFailure(f"HTTP {status}: {response.text[:300]}", f"HTTP {status}")
    if status >= 300:
        # A redirect is not followed (the body would go where nobody configured it to go) and
        # is not a delivery either: the configured URL is wrong until someone fixes it.
        moved = f" to {response.headers.get('Location')}" if 300 <= status < 400 else ""
        raise PermanentFailure(f"HTTP {status}{moved}: {response.text[:300]}", f"HTTP {status}")


def _json_object(response: httpx.Response) -> dict | None:
    """The answer's JSON object, or None when it is not one (plain text, a list …)."""
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    try:
        return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}", type(exc).__name__) from None


# -- email --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int = 25
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "service@example.com"
    sender_name: str = ""
    ca_file: str | None = None  # a private CA's certificate, when the server's is not public
    name: str = "email"

    def message_id(self, key: str) -> str:
        # The same key gives the same Message-ID on every attempt.
        # (make_msgid would add the time and a random number: a resend would look new.)
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"<{digest}@{self.sender.rpartition('@')[2] or 'aftersales'}>"

    def send(self, message: Message) -> Receipt:
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = self.message_id(message.key)
        mail["X-Idempotency-Key"] = message.key
        mail.set_content(message.long_text)
        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            # smtplib has one timeout per socket operation: the short one for the connection and
            # the greeting, then the long one for every command's answer, the end of DATA included
            # (a server that scans the mail may take a while to accept it).
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=CHANNEL_CONNECT_TIMEOUT, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=CHANNEL_CONNECT_TIMEOUT)
            client.timeout = CHANNEL_TIMEOUT
            client.sock.settimeout(CHANNEL_TIMEOUT)
            with client:
                if self.security == "starttls":
                    client.starttls(context=context)
                if self.username:
                    client.login(self.username, self.password)
                refused = client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refusal(exc.recipients) from None
        except smtplib.SMTPResponseException as exc:
            failure = PermanentFailure if 500 <= exc.smtp_code < 600 else TemporaryFailure
            raise failure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", f"SMTP {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}", type(exc).__name__) from None
        if refused:
            raise _refusal(refused)
        return Receipt(provider_id=mail["Message-ID"], response="250 accepted")


def _refusal(refused: dict[str, tuple[int, bytes]]) -> DeliveryFailure:
    """A recipient refused with a 4xx (greylisting, a full mailbox) may take it later; a 5xx
    refusal is final. The code names the SMTP status, never the address."""
    codes = sorted({code for code, _ in refused.values()})
    failure = TemporaryFailure if all(400 <= code < 500 for code in codes) else PermanentFailure
    return failure(f"recipient refused: {refused}", f"SMTP recipient refused {'/'.join(map(str, codes))}")


# -- group robots -------------------------------------------------------------------------


@dataclass(frozen=True)
class WeComRobot:
    """A WeCom (企业微信) group robot: POST {"msgtype": "text", "text": {"content": …}}."""

    url: str
    name: str = "wecom"

    def send(self, message: Message) -> Receipt:
        body = {"msgtype": "text", "text": {"content": f"{message.subject}\n{message.short_text}"}}
        return _robot(self.url, body, message.key)


@dataclass(frozen=True)
class DingTalkRobot:
    """A DingTalk (钉钉) group robot; with a secret, signed as DingTalk documents it:
    ``sign = base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))`` in the query string."""

    url: str
    secret: str = ""
    name: str = "dingtalk"

    def signed_url(self, timestamp_ms: int) -> str:
        if not self.secret:
            return self.url
        digest = hmac.new(self.secret.encode(), f"{timestamp_ms}\n{self.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}timestamp={timestamp_ms}&sign={sign}"

    def send(self, message: Message) -> Receipt:
        body = {"msgtype": "text", "text": {"content": f"{message.subject}\n{message.short_text}"}}
        return _robot(self.signed_url(int(time.time() * 1000)), body, message.key)


# The robots' errcodes that mean "not now" rather than "never": WeCom's -1 (system busy) and
# 45009 (over 20 messages a minute), DingTalk's 130101 (sending too fast).
ROBOT_RETRY_ERRCODES = frozenset({-1, 45009, 130101})


def _robot(url: str, body: dict, key: str) -> Receipt:
    response = _post(url, json.dumps(body, ensure_ascii=False).encode(), {"Idempotency-Key": key})
    _check(response)
    # Both robots answer 200 with {"errcode": 0, "errmsg": "ok"}; another errcode is a refusal.
    answer = _json_object(response)
    if answer is None:
        raise TemporaryFailure(f"not a JSON object: {response.text[:200]}", "answer not JSON")
    errcode = answer.get("errcode", 0)
    if errcode != 0:
        failure = TemporaryFailure if errcode in ROBOT_RETRY_ERRCODES else PermanentFailure
        raise failure(f"errcode {errcode}: {answer.get('errmsg')}", f"errcode {errcode}")
    return Receipt(provider_id=None, response=response.text[:500])


# -- a company's own systems --------------------------------------------------------------


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedWebhook:
    """POST the message as JSON with ``X-Aftersales-Signature: sha256=<hex HMAC-SHA256 of the
    body with the shared secret>`` and ``Idempotency-Key: <outbox key>``."""

    url: str
    secret: str
    name: str = "webhook"

    def send(self, message: Message) -> Receipt:
        body = json.dumps(
            {"key": message.key, "to": message.address, "subject": message.subject, "text": message.long_text,
             "data": message.data or {}},
            ensure_ascii=False, sort_keys=True,
        ).encode()
        response = _post(
            self.url, body, {"X-Aftersales-Signature": webhook_signature(self.secret, body), "Idempotency-Key": message.key}
        )
        _check(response)
        return Receipt(provider_id=response.headers.get("X-Request-Id"), response=response.text[:500])


# -- SMS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpSmsProvider:
    """SMS through a provider's HTTP API, its request shaped by configuration.

    ``body_template`` is the JSON body with placeholders as whole string values: ``$phone``,
    ``$text``, ``$key`` (the idempotency key) and ``$sign`` (the company's SMS signature).
    The token goes in ``auth_header``. A 2xx answer is accepted; ``id_field`` names the
    provider's message id in the JSON answer.
    """

    url: str
    token: str = ""
    auth_header: str = "Authorization"
    auth_prefix: str = "Bearer "
    sign: str = ""
    body_template: str = '{"to": "$phone", "sign": "$sign", "content": "$text", "request_id": "$key"}'
    id_field: str = "message_id"
    name: str = "sms"

    def body(self, message: Message) -> dict:
        values = {"$phone": message.address, "$text": message.short_text, "$key": message.key, "$sign": self.sign}

        def fill(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: fill(v) for k, v in node.items()}
            if isinstance(node, list):
                return [fill(v) for v in node]
            return values.get(node, node) if isinstance(node, str) else node

        return fill(json.loads(self.body_template))

    def send(self, message: Message) -> Receipt:
        headers = {"Idempotency-Key": message.key}
        if self.token:
            headers[self.auth_header] = f"{self.auth_prefix}{self.token}"
        response = _post(self.url, json.dumps(self.body(message), ensure_ascii=False).encode(), headers)
        _check(response)
        # Accepted: whatever the answer's shape, the SMS went out; only its id may be missing.
        provider_id = (_json_object(response) or {}).get(self.id_field)
        return Receipt(provider_id=str(provider_id) if provider_id is not None else None, response=response.text[:500])
