"""Each channel against a real peer on loopback: what the peer receives, and how refusals
and outages come back (a refusal is permanent, an outage is worth a retry)."""

import base64
import hashlib
import hmac
import json
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
    long_text="尊敬的王女士，您好！\n我们将在 2026-11-24 12:00 前与您联系。",
    data={"case_no": "AS20261124-0001", "message": "acknowledgement"},
)


def mail(**changes) -> Message:
    fields = {**MESSAGE.__dict__, "address": "wang@example.com", **changes}
    return Message(**fields)


# -- email ------------------------------------------------------------------------------------


def test_email_arrives_whole_with_a_message_id_that_is_the_same_for_the_same_key():
    with SmtpPeer() as smtp:
        channel = SmtpChannel(host="127.0.0.1", port=smtp.port, security="none", sender="service@anxin.example",
                              sender_name="安心家装")
        channel.send(mail())
        channel.send(mail())
        channel.send(mail(key="another-key"))
    first, again, other = smtp.messages
    assert first["To"] == "wang@example.com" and "service@anxin.example" in first["From"]
    assert first["Subject"] == MESSAGE.subject
    assert first.get_content().replace("\r\n", "\n").strip() == MESSAGE.long_text  # Chinese intact (CRLF on the wire)
    assert first["X-Idempotency-Key"] == MESSAGE.key
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert smtp.envelopes[0] == ("service@anxin.example", ["wang@example.com"])


def test_email_over_starttls_verifies_the_servers_certificate():
    with SmtpPeer(starttls=True) as smtp:
        trusting = SmtpChannel(host="localhost", port=smtp.port, security="starttls", ca_file=smtp.ca_file)
        receipt = trusting.send(mail())
        assert len(smtp.messages) == 1 and receipt.provider_id == smtp.messages[0]["Message-ID"]
        with pytest.raises((TemporaryFailure, PermanentFailure)):  # a self-signed certificate is not trusted
            SmtpChannel(host="localhost", port=smtp.port, security="starttls").send(mail())
        with pytest.raises(PermanentFailure):  # the server requires TLS: no plain-text mail slips through
            SmtpChannel(host="localhost", port=smtp.port, security="none").send(mail())
        assert len(smtp.messages) == 1


def test_a_refused_recipient_is_permanent_and_a_server_that_is_down_is_temporary():
    with SmtpPeer(refuse={"nobody@example.com"}) as smtp:
        with pytest.raises(PermanentFailure, match="refused"):
            SmtpChannel(host="127.0.0.1", port=smtp.port, security="none").send(mail(address="nobody@example.com"))
    with pytest.raises(TemporaryFailure):
        SmtpChannel(host="127.0.0.1", port=free_port(), security="none").send(mail())


# -- group robots -------------------------------------------------------------------------------


def test_wecom_robot_gets_its_text_format_and_the_key():
    with HttpPeer() as robot:
        WeComRobot(url=f"{robot.url}/cgi-bin/webhook/send?key=abc").send(MESSAGE)
        (received,) = robot.requests
        robot.fail_next(200, body='{"errcode": 93000, "errmsg": "invalid webhook url"}')
        with pytest.raises(PermanentFailure, match="93000"):
            WeComRobot(url=f"{robot.url}/cgi-bin/webhook/send?key=wrong").send(MESSAGE)
    assert received.path == "/cgi-bin/webhook/send?key=abc"
    assert received.json == {"msgtype": "text", "text": {"content": f"{MESSAGE.subject}\n{MESSAGE.short_text}"}}
    assert received.headers["idempotency-key"] == MESSAGE.key


def test_dingtalk_robot_signs_its_url_as_dingtalk_documents():
    secret = "SEC0123456789abcdef"
    with HttpPeer() as robot:
        DingTalkRobot(url=f"{robot.url}/robot/send?access_token=t0k", secret=secret).send(MESSAGE)
    (received,) = robot.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(received.path).query)
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected] and query["access_token"] == ["t0k"]
    assert received.json["msgtype"] == "text" and MESSAGE.short_text in received.json["text"]["content"]


# -- a company's own systems ----------------------------------------------------------------------


def test_a_signed_webhook_is_accepted_by_a_peer_that_checks_the_signature():
    with HttpPeer(secret=SECRET) as erp:
        SignedWebhook(url=f"{erp.url}/hooks/aftersales", secret=SECRET).send(MESSAGE)
        with pytest.raises(PermanentFailure, match="401"):
            SignedWebhook(url=f"{erp.url}/hooks/aftersales", secret="not-the-secret-at-all").send(MESSAGE)
    assert list(erp.delivered) == [MESSAGE.key]
    body = erp.delivered[MESSAGE.key].json
    assert body == {"key": MESSAGE.key, "to": MESSAGE.address, "subject": MESSAGE.subject, "text": MESSAGE.long_text,
                    "data": MESSAGE.data}


@pytest.mark.parametrize(("status", "failure"), [(503, TemporaryFailure), (429, TemporaryFailure), (400, PermanentFailure)])
def test_webhook_answers_decide_whether_to_retry(status, failure):
    with HttpPeer(secret=SECRET) as erp:
        erp.fail_next(status)
        with pytest.raises(failure, match=str(status)) as caught:
            SignedWebhook(url=f"{erp.url}/hooks", secret=SECRET).send(MESSAGE)
    assert caught.value.code == f"HTTP {status}"  # the short code, fit for logs, names no one


# -- SMS ----------------------------------------------------------------------------------------------


def test_sms_provider_gets_the_documented_default_body():
    with HttpPeer() as provider:
        receipt = HttpSmsProvider(url=f"{provider.url}/sms", token="tok-123", sign="安心家装").send(MESSAGE)
    (received,) = provider.requests
    assert received.json == {"to": "13812345678", "sign": "安心家装", "content": MESSAGE.short_text, "request_id": MESSAGE.key}
    assert received.headers["authorization"] == "Bearer tok-123"
    assert receipt.provider_id == "m-1"


def test_sms_provider_format_is_configurable_and_the_key_dedupes_end_to_end():
    template = json.dumps({"PhoneNumbers": "$phone", "SignName": "$sign", "Params": {"text": "$text"}, "OutId": "$key"})
    with HttpPeer() as provider:
        channel = HttpSmsProvider(url=f"{provider.url}/send", token="k-9", auth_header="X-Api-Key", auth_prefix="",
                                  sign="安心家装", body_template=template, id_field="message_id")
        first = channel.send(MESSAGE)
        again = channel.send(MESSAGE)  # sent again after a crash: same key
    assert provider.requests[0].json == {"PhoneNumbers": "13812345678", "SignName": "安心家装",
                                         "Params": {"text": MESSAGE.short_text}, "OutId": MESSAGE.key}
    assert provider.requests[0].headers["x-api-key"] == "k-9"
    assert len(provider.requests) == 2 and list(provider.delivered) == [MESSAGE.key]  # the customer got one
    assert first.provider_id == again.provider_id
