"""Mail through a real SMTP server (aiosmtpd), and the password read by reference."""

from __future__ import annotations

import pytest

from printfleet.notify.mail import Mailer, MailError, read_password
from printfleet.settings import MailSettings, Settings
from tests.support import free_port

pytestmark = pytest.mark.timeout(30)


def test_a_message_reaches_the_smtp_server(settings: Settings, smtp):
    reply = Mailer(settings.mail).send("alice@example.org", "Hello", "First line\nSecond\n")
    (message,) = smtp.wait_for("alice@example.org")
    assert message["From"] == "fleet@printfleet.test" and message["Subject"] == "Hello"
    assert message.get_content() == "First line\nSecond\n"
    assert "accepted" in reply


def test_no_host_or_no_server_is_a_clear_error():
    with pytest.raises(MailError, match="not configured"):
        Mailer(MailSettings()).send("a@example.org", "s", "b")
    down = MailSettings(host="127.0.0.1", port=free_port(), security="none", timeout_s=2)
    with pytest.raises(MailError, match="ConnectionRefused"):
        Mailer(down).send("a@example.org", "s", "b")


def test_the_password_is_read_from_a_file_or_an_environment_variable(tmp_path, monkeypatch):
    secret = tmp_path / "smtp_password"
    secret.write_text("from-a-file\n")
    assert read_password(MailSettings(username="u", password_file=str(secret))) == "from-a-file"
    monkeypatch.setenv("SMTP_PASSWORD", "from-the-environment")
    assert read_password(MailSettings(username="u", password_env="SMTP_PASSWORD")) == (
        "from-the-environment")
    with pytest.raises(MailError, match="NOT_SET_ANYWHERE"):
        read_password(MailSettings(username="u", password_env="NOT_SET_ANYWHERE"))


def test_settings_refuse_credentials_without_tls_and_two_password_sources():
    from printfleet.settings import load

    with pytest.raises(Exception, match="starttls"):
        load(None, environ={"PRINTFLEET_MAIL__USERNAME": "u",
                            "PRINTFLEET_MAIL__SECURITY": "none"})
    with pytest.raises(Exception, match="not both"):
        load(None, environ={"PRINTFLEET_MAIL__PASSWORD_FILE": "/x",
                            "PRINTFLEET_MAIL__PASSWORD_ENV": "SMTP_PASSWORD"})
    with pytest.raises(Exception, match="password_env"):
        load(None, environ={"PRINTFLEET_MAIL__PASSWORD_ENV": "PRINTFLEET_SECRET"})
