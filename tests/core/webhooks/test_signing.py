"""Signatures as Standard Webhooks 1.0 makes them: the standardwebhooks package verifies
ours and makes the same."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from crm.core.webhooks.signing import headers, new_secret, signature


def test_a_secret_is_prefixed_base64_of_enough_random_bytes() -> None:
    one, two = new_secret(), new_secret()
    assert one != two
    assert one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"))) >= 24


def test_a_signature_is_the_one_the_reference_library_makes() -> None:
    secret, body, now = new_secret(), b'{"id":"x","type":"a.b"}', int(time.time())
    expected = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), body)
    assert signature(secret, "msg_1", now, body) == expected


def test_signed_headers_verify_with_each_secret_in_force() -> None:
    old, new, body = new_secret(), new_secret(), b'{"a": 1}'
    signed = headers([new, old], "evt_1", int(time.time()), body)
    assert signed["webhook-id"] == "evt_1"
    assert len(signed["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, signed) == {"a": 1}
    assert Webhook(old).verify(body, signed) == {"a": 1}
