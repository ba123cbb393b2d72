"""Each channel against a real peer on loopback: what the peer receives, and how refusals
and outages come back (a refusal is permanent, an outage is worth a retry)."""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
from peers import HttpPeer, SmtpPeer, free_port

from adapters.notify.channels import (
    DingTalkRobot,
    HttpSmsProvider,
    Message,
    PermanentFailure,
    SignedWebhook,
    SmtpChannel,
    TemporaryFailure,
    WeComRobot,
)

SECRET = "s3cret-shared-with-the-erp"
MESSAGE = Message(
    key="case-AS20261124-0001:1:acknowledgement:customer",
    address="13812345678",
    subject="【安心家装】您的报修已受理，工单号 AS20261124-0001",
    short_text="王女士您好，您的报修已受理，工单号 AS20261124-0001。",
    long_text="尊敬的王女士，您好！\n我们将在 2026-11-24 12:00 前与您联系。\n" + "上门前师傅会先致电确认时间。" * 12,
    data={"case_no": "AS20261124-0001", "message": "acknowledgement"},
)
ROBOT_BODY = {"msgtype": "text", "text": {"content": f"{MESSAGE.subject}\n{MESSAGE.short_text}"}}


def mail(**changes) -> Message:
    fields = {**MESSAGE.__dict__, "address": "wang@example.com", **changes}
    return Message(**fields)


def body_text(received) -> str:
    return received.get_content().replace("\r\n", "\n").rstrip("\n")  # CRLF on the wire


# -- email ------------------------------------------------------------------------------------


def test_email_arrives_whole_with_a_message_id_that_is_the_same_for_the_same_key():
    with SmtpPeer() as smtp:
        channel = SmtpChannel(host="127.0.0.1", port=smtp.port, security="none", sender="service@anxin.example",
                              sender_name="安心家装")
        receipt = channel.send(mail())
        channel.send(mail())  # a resend after a crash: the mail client can tell it is the same mail
        channel.send(mail(key="another-key"))
    first, again, other = smtp.messages
    assert first["To"] == "wang@example.com"
    assert first["From"].addresses[0].display_name == "安心家装"
    assert first["From"].addresses[0].addr_spec == "service@anxin.example"
    assert first["Subject"] == MESSAGE.subject
    assert first.get_content_charset() == "utf-8" and body_text(first) == MESSAGE.long_text  # Chinese intact
    assert first["X-Idempotency-Key"] == MESSAGE.key
    assert first["Message-ID"] == again["Message-ID"] == receipt.provider_id != other["Message-ID"]
    assert first["Message-ID"].endswith("@anxin.example>")
    assert smtp.envelopes[0] == ("service@anxin.example", ["wang@example.com"])


def test_email_over_starttls_verifies_the_servers_certificate():
    with SmtpPeer(starttls=True) as smtp:
        for host in ("localhost", "127.0.0.1"):  # the certificate names both
            receipt = SmtpChannel(host=host, port=smtp.port, security="starttls", ca_file=smtp.ca_file).send(mail())
            assert receipt.provider_id == smtp.messages[-1]["Message-ID"]
        assert body_text(smtp.messages[0]) == MESSAGE.long_text
        # Not trusted by the default store: the handshake fails and nothing is sent. Temporary,
        # like any OSError: a server's certificate is often fixed within the retry window.
        with pytest.raises(TemporaryFailure) as caught:
            SmtpChannel(host="localhost", port=smtp.port, security="starttls").send(mail())
        assert caught.value.code == "SSLCertVerificationError"
        with pytest.raises(PermanentFailure, match="530"):  # the server requires TLS: no plain-text mail slips through
            SmtpChannel(host="localhost", port=smtp.port, security="none").send(mail())
        assert len(smtp.messages) == 2


def test_email_over_implicit_tls():
    with SmtpPeer(implicit_tls=True) as smtp:
        SmtpChannel(host="localhost", port=smtp.port, security="ssl", ca_file=smtp.ca_file).send(mail())
        with pytest.raises(TemporaryFailure):
            SmtpChannel(host="localhost", port=smtp.port, security="ssl").send(mail())
    (received,) = smtp.messages
    assert received["X-Idempotency-Key"] == MESSAGE.key


def test_a_refused_recipient_is_permanent_and_a_server_that_is_down_is_temporary():
    with SmtpPeer(refuse={"nobody@example.com"}) as smtp:
        with pytest.raises(PermanentFailure, match="refused") as caught:
            SmtpChannel(host="127.0.0.1", port=smtp.port, security="none").send(mail(address="nobody@example.com"))
    assert "nobody@example.com" not in caught.value.code  # the short code names no one
    assert smtp.messages == []
    with pytest.raises(TemporaryFailure):
        SmtpChannel(host="127.0.0.1", port=free_port(), security="none").send(mail())


def test_a_greylisted_recipient_is_worth_a_retry():
    with SmtpPeer(defer={"wang@example.com"}) as smtp:
        with pytest.raises(TemporaryFailure, match="450"):
            SmtpChannel(host="127.0.0.1", port=smtp.port, security="none").send(mail())


# -- group robots -------------------------------------------------------------------------------


def test_wecom_robot_gets_its_text_format_and_the_key():
    with HttpPeer() as robot:
        WeComRobot(url=f"{robot.url}/cgi-bin/webhook/send?key=abc").send(MESSAGE)
        (received,) = robot.requests
        robot.fail_next(200, body='{"errcode": 93000, "errmsg": "invalid webhook url"}')
        with pytest.raises(PermanentFailure, match="93000") as caught:
            WeComRobot(url=f"{robot.url}/cgi-bin/webhook/send?key=wrong").send(MESSAGE)
    assert caught.value.code == "errcode 93000"
    assert received.path == "/cgi-bin/webhook/send?key=abc"
    assert received.json == ROBOT_BODY
    assert received.headers["content-type"] == "application/json"
    assert received.headers["idempotency-key"] == MESSAGE.key


def test_a_robot_over_its_rate_limit_is_worth_a_retry():
    with HttpPeer() as robot:
        robot.fail_next(200, body='{"errcode": 45009, "errmsg": "api freq out of limit"}')  # WeCom: 20 a minute
        with pytest.raises(TemporaryFailure):
            WeComRobot(url=f"{robot.url}/cgi-bin/webhook/send?key=abc").send(MESSAGE)


def test_dingtalk_robot_signs_its_url_as_dingtalk_documents():
    secret = "SEC0123456789abcdef"
    with HttpPeer() as robot:
        DingTalkRobot(url=f"{robot.url}/robot/send?access_token=t0k", secret=secret).send(MESSAGE)
    (received,) = robot.requests
    # What DingTalk checks: timestamp (ms) within an hour of its clock, and
    # sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\n{secret}"))).
    raw = dict(part.split("=", 1) for part in urllib.parse.urlsplit(received.path).query.split("&"))
    assert raw["access_token"] == "t0k"
    assert abs(int(raw["timestamp"]) - time.time() * 1000) < 3_600_000
    digest = hmac.new(secret.encode(), f"{raw['timestamp']}\n{secret}".encode(), hashlib.sha256).digest()
    assert raw["sign"] == urllib.parse.quote_plus(base64.b64encode(digest).decode())  # '+', '/', '=' escaped
    assert received.json == ROBOT_BODY
    assert received.headers["idempotency-key"] == MESSAGE.key


def test_dingtalk_robot_without_a_secret_keeps_its_url():
    with HttpPeer() as robot:
        DingTalkRobot(url=f"{robot.url}/robot/send?access_token=t0k").send(MESSAGE)
    assert robot.requests[0].path == "/robot/send?access_token=t0k"


# -- a company's own systems ----------------------------------------------------------------------


def test_a_signed_webhook_is_accepted_by_a_peer_that_checks_the_signature():
    with HttpPeer(secret=SECRET) as erp:
        receipt = SignedWebhook(url=f"{erp.url}/hooks/aftersales", secret=SECRET).send(MESSAGE)
        with pytest.raises(PermanentFailure, match="401"):
            SignedWebhook(url=f"{erp.url}/hooks/aftersales", secret="not-the-secret-at-all").send(mail(key="forged"))
    assert list(erp.delivered) == [MESSAGE.key]  # the forged one was not
    received = erp.delivered[MESSAGE.key]
    assert received.json == {"key": MESSAGE.key, "to": MESSAGE.address, "subject": MESSAGE.subject,
                             "text": MESSAGE.long_text, "data": MESSAGE.data}
    assert received.headers["idempotency-key"] == MESSAGE.key
    assert receipt.provider_id == "m-1"  # the receiver's X-Request-Id


@pytest.mark.parametrize(("status", "failure"), [(503, TemporaryFailure), (429, TemporaryFailure), (400, PermanentFailure)])
def test_webhook_answers_decide_whether_to_retry(status, failure):
    with HttpPeer(secret=SECRET) as erp:
        erp.fail_next(status)
        with pytest.raises(failure, match=str(status)) as caught:
            SignedWebhook(url=f"{erp.url}/hooks", secret=SECRET).send(MESSAGE)
        SignedWebhook(url=f"{erp.url}/hooks", secret=SECRET).send(MESSAGE)  # the retry goes through
    assert caught.value.code == f"HTTP {status}"  # the short code, fit for logs, names no one
    assert len(erp.requests) == 2 and list(erp.delivered) == [MESSAGE.key]


def test_a_receiver_that_is_down_is_temporary():
    with pytest.raises(TemporaryFailure, match="ConnectError"):
        SignedWebhook(url=f"http://127.0.0.1:{free_port()}/hooks", secret=SECRET).send(MESSAGE)


@pytest.mark.parametrize("channel", [
    lambda url: SignedWebhook(url=url, secret=SECRET),
    lambda url: HttpSmsProvider(url=url, token="tok"),
], ids=["webhook", "sms"])
def test_a_redirect_is_not_a_delivery(channel):
    with HttpPeer() as peer:
        peer.fail_next(301, body="")  # e.g. the receiver moved to https
        with pytest.raises(PermanentFailure, match="301"):  # a wrong URL does not fix itself
            channel(f"{peer.url}/hooks").send(MESSAGE)


# -- SMS ----------------------------------------------------------------------------------------------


def test_sms_provider_gets_the_documented_default_body():
    with HttpPeer() as provider:
        receipt = HttpSmsProvider(url=f"{provider.url}/sms", token="tok-123", sign="安心家装").send(MESSAGE)
    (received,) = provider.requests
    assert received.json == {"to": "13812345678", "sign": "安心家装", "content": MESSAGE.short_text, "request_id": MESSAGE.key}
    assert received.headers["authorization"] == "Bearer tok-123"
    assert received.headers["idempotency-key"] == MESSAGE.key
    assert receipt.provider_id == "m-1"


def test_sms_provider_format_is_configurable_and_the_key_dedupes_end_to_end():
    template = json.dumps({"PhoneNumbers": "$phone", "SignName": "$sign", "Params": {"text": "$text", "n": 1},
                           "Tags": ["$key", "aftersales"], "OutId": "$key"})
    with HttpPeer() as provider:
        channel = HttpSmsProvider(url=f"{provider.url}/send", token="k-9", auth_header="X-Auth-Token", auth_prefix="APPCODE ",
                                  sign="安心家装", body_template=template)
        first = channel.send(MESSAGE)
        again = channel.send(MESSAGE)  # sent again after a crash: same key
    assert provider.requests[0].json == {"PhoneNumbers": "13812345678", "SignName": "安心家装",
                                         "Params": {"text": MESSAGE.short_text, "n": 1},
                                         "Tags": [MESSAGE.key, "aftersales"], "OutId": MESSAGE.key}
    assert provider.requests[0].headers["x-auth-token"] == "APPCODE k-9"
    assert "authorization" not in provider.requests[0].headers
    assert len(provider.requests) == 2 and provider.requests[0].body == provider.requests[1].body
    assert list(provider.delivered) == [MESSAGE.key]  # the customer got one
    assert first.provider_id == again.provider_id == "m-1"


def test_sms_provider_id_comes_from_the_configured_field():
    with HttpPeer() as provider:
        channel = HttpSmsProvider(url=f"{provider.url}/send", id_field="BizId")
        provider.fail_next(200, body='{"Code": "OK", "BizId": 900619746936498440}')  # a provider's own answer shape
        assert channel.send(MESSAGE).provider_id == "900619746936498440"
        provider.fail_next(200, body="queued")  # no JSON: accepted all the same, without an id
        assert channel.send(MESSAGE).provider_id is None
        assert channel.send(MESSAGE).provider_id is None  # the peer's own answer has no BizId
    assert "authorization" not in provider.requests[0].headers  # no token, no auth header


def test_sms_provider_accepts_an_answer_that_is_not_an_object():
    with HttpPeer() as provider:
        provider.fail_next(200, body='["accepted"]')
        assert HttpSmsProvider(url=f"{provider.url}/send").send(MESSAGE).provider_id is None
