"""What the WhatsApp tests share: fresh numbers, and linking one as a person does."""

from __future__ import annotations

import re
import secrets

from tests.fakes.whatsapp_cloud import FakeWhatsAppCloud
from tests.support import Account


def new_number() -> str:
    """A fresh UK-style mobile number, so that tests never share a person."""
    return f"4477009{secrets.randbelow(10**5):05d}"


def link(account: Account, cloud: FakeWhatsAppCloud, number: str) -> None:
    """Link `number` the way a person does: ask for a code, read it on WhatsApp, enter it."""
    asked = account.client.post(
        "/api/users/me/whatsapp", json={"phone_number": f"+{number}"}, headers=account.auth
    )
    assert asked.status_code == 202, asked.text
    (message,) = cloud.wait_for_sent(number)
    code = re.search(r"\b(\d{6})\b", message.text)
    assert code, message.text
    done = account.client.post(
        "/api/users/me/whatsapp/verify", json={"code": code.group(1)}, headers=account.auth
    )
    assert done.status_code == 200, done.text
    cloud.reset()
