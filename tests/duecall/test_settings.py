"""Settings: defaults, then YAML, then the environment; every problem named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from duecall.settings import COMMAND_SECRETS, ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env or {})
    return info.value.problems


def test_the_shipped_config_is_valid_and_matches_the_defaults(tmp_path: Path) -> None:
    shipped = load_settings(REPO / "config.yaml", {})
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    defaults = load_settings(empty, {})
    assert shipped.source == str(REPO / "config.yaml")
    # The file documents the defaults: it changes no value (a drift would make it lie).
    # Campaigns and concession offers have no default: the shipped ones are examples.
    examples = {"campaigns", "concessions"}
    assert shipped.model_dump(exclude=examples) == defaults.model_dump(exclude=examples)
    assert defaults.concessions.offers == {}
    assert set(shipped.concessions.offers) == {
        "late-fee-waiver",
        "interest-waiver",
        "hardship-rate",
        "settlement",
    }


def test_an_unknown_key_is_an_error_named_by_its_path(tmp_path: Path) -> None:
    got = problems(write(tmp_path, "database:\n  ulr: sqlite:///x.db\nserverr: {}\n"))
    assert "database.ulr: unknown key; did you mean `url`?" in got
    assert "serverr: unknown key; did you mean `server`?" in got


def test_an_unknown_key_suggests_the_nearest_valid_key_at_its_own_level(tmp_path: Path) -> None:
    text = """
import: {defualt_region: US}
campaigns:
  - name: a
    chanel: sms
    schedule: {cron: "0 10 * * *"}
    retry: {bussy: {max: 1}}
ivr:
  voices:
    en-US: {voice: Polly.Joanna, language: en-US, langauge: en-US}
policy:
  overrides: {margin_minute: 5}
"""
    got = problems(write(tmp_path, text))
    assert sorted(got) == [
        "campaigns.0.chanel: unknown key; did you mean `channel`?",
        "campaigns.0.retry.bussy: unknown key; did you mean `busy`?",
        "import.defualt_region: unknown key; did you mean `default_region`?",
        "ivr.voices.en-US.langauge: unknown key; did you mean `language`?",
        "policy: overrides.margin_minute: unknown key; did you mean `margin_minutes`?",
    ]


def test_an_unknown_key_far_from_every_valid_one_suggests_nothing(tmp_path: Path) -> None:
    got = problems(write(tmp_path, "twilio:\n  colour: red\nsourc: x\n"))
    # `source` is what load_settings records, not a key to write: never offered.
    assert sorted(got) == ["sourc: unknown key", "twilio.colour: unknown key"]


def test_the_source_is_the_absolute_path_of_the_file_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path.resolve()
    monkeypatch.chdir(here)
    write(here, "")  # an empty file is still the file that was read
    assert load_settings("config.yaml", {}).source == str(here / "config.yaml")
    assert load_settings(None, {}).source == str(here / "config.yaml")  # ./config.yaml found
    (here / "sub").mkdir()
    assert load_settings(None, {"DUECALL_CONFIG": "sub/../config.yaml"}).source == str(
        here / "config.yaml"
    )
    monkeypatch.chdir(here / "sub")
    assert load_settings(None, {}).source is None  # built-in defaults, no file


def test_the_settings_record_which_variables_set_values(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("0" * 32, encoding="utf-8")
    settings = load_settings(
        write(tmp_path, ""),
        {
            "DUECALL_PUBLIC_URL": "https://duecall.bank.test",
            "TWILIO_AUTH_TOKEN_FILE": str(token),
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        },
    )
    assert settings.origins == {
        "server.public_url": "DUECALL_PUBLIC_URL",
        "TWILIO_AUTH_TOKEN": "TWILIO_AUTH_TOKEN_FILE",
        "TWILIO_ACCOUNT_SID": "TWILIO_ACCOUNT_SID",
    }
    assert problems(write(tmp_path, "origins: {}\n")) == ["origins: unknown key"]


def test_serve_needs_the_account_sid_for_the_answering_machine_redirect(tmp_path: Path) -> None:
    assert set(COMMAND_SECRETS["serve"]) == {
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "DUECALL_SECRET_KEY",
    }
    settings = load_settings(
        write(tmp_path, ""), {"TWILIO_AUTH_TOKEN": "t", "DUECALL_SECRET_KEY": "k"}
    )
    with pytest.raises(ConfigError) as info:
        settings.require(*COMMAND_SECRETS["serve"], command="serve")
    assert info.value.problems == [
        "TWILIO_ACCOUNT_SID: not set (needed by `duecall serve`; set it or TWILIO_ACCOUNT_SID_FILE)"
    ]


def test_a_messaging_service_sid_must_be_mg_and_32_hex_digits(tmp_path: Path) -> None:
    for bad in ("MG123", "MG" + "z" * 32, "AC" + "0" * 32):
        got = problems(write(tmp_path, f"twilio:\n  messaging_service_sid: {bad}\n"))
        assert got == [
            "twilio.messaging_service_sid: must be a Messaging Service SID: "
            "MG followed by 32 hex digits"
        ]
    good = "MG" + "0a" * 16
    settings = load_settings(write(tmp_path, f"twilio:\n  messaging_service_sid: {good}\n"), {})
    assert settings.twilio.messaging_service_sid == good


def test_a_wrong_type_is_an_error_named_by_its_path(tmp_path: Path) -> None:
    got = problems(write(tmp_path, "server:\n  port: many\nimport:\n  batch_size: 0\n"))
    assert any(p.startswith("server.port: ") for p in got)
    assert any(p.startswith("import.batch_size: ") for p in got)
    assert len(got) == 2


def test_a_secret_in_the_yaml_is_an_error(tmp_path: Path) -> None:
    got = problems(write(tmp_path, "twilio:\n  auth_token: abc123\n"))
    assert got == [
        "twilio.auth_token: secrets are not read from the config file; "
        "set TWILIO_AUTH_TOKEN (or its _FILE variant) instead"
    ]
    got = problems(write(tmp_path, "database:\n  url: postgresql+psycopg://u:pw@db/duecall\n"))
    assert got[0].startswith("database.url: contains a password")


def test_a_missing_secret_is_named_with_the_command_that_needs_it(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), {"TWILIO_ACCOUNT_SID": "AC123"})
    with pytest.raises(ConfigError) as info:
        settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", command="dialer")
    assert info.value.problems == [
        "TWILIO_AUTH_TOKEN: not set (needed by `duecall dialer`; set it or TWILIO_AUTH_TOKEN_FILE)"
    ]


def test_the_environment_beats_the_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "database:\n  url: sqlite:///from-yaml.db\nserver:\n  port: 6000\n")
    settings = load_settings(
        path,
        {
            "DUECALL_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test",
            "DUECALL_PUBLIC_URL": "https://duecall.example.com/",
            "DUECALL_TWILIO_API_URL": "http://127.0.0.1:8080",
        },
    )
    assert settings.database.url == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert settings.server.public_url == "https://duecall.example.com"
    assert settings.twilio.api_url == "http://127.0.0.1:8080"
    assert settings.server.port == 6000  # from the YAML, over the default


def test_a_bad_environment_value_is_named_by_the_key_it_overrides(tmp_path: Path) -> None:
    got = problems(write(tmp_path, ""), {"DUECALL_PUBLIC_URL": "duecall.example.com"})
    assert got[0].startswith("server.public_url: must be an absolute http(s) URL")


def test_secrets_come_from_files_named_by_the_file_variables(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n", encoding="utf-8")
    settings = load_settings(
        write(tmp_path, ""),
        {"TWILIO_AUTH_TOKEN_FILE": str(token), "DUECALL_SECRET_KEY": "k"},
    )
    assert settings.secret("TWILIO_AUTH_TOKEN") == "s3cret"
    assert settings.secret("DUECALL_SECRET_KEY") == "k"
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in settings.model_dump_json()


def test_a_secret_file_that_cannot_be_read_or_is_doubly_set_is_an_error(tmp_path: Path) -> None:
    got = problems(write(tmp_path, ""), {"TWILIO_AUTH_TOKEN_FILE": str(tmp_path / "missing")})
    assert got[0].startswith("TWILIO_AUTH_TOKEN_FILE: cannot read")
    got = problems(
        write(tmp_path, ""), {"TWILIO_AUTH_TOKEN": "a", "TWILIO_AUTH_TOKEN_FILE": "/dev/null"}
    )
    assert got == [
        "TWILIO_AUTH_TOKEN: set both TWILIO_AUTH_TOKEN and TWILIO_AUTH_TOKEN_FILE; keep one"
    ]


def test_an_explicit_config_path_must_exist_and_be_yaml(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]
    assert problems(write(tmp_path, "a: [1, 2\n"))[0].endswith("not valid YAML at line 2")


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), {})
    with pytest.raises(Exception, match="frozen"):
        settings.server.port = 1  # type: ignore[misc]


CAMPAIGN = """
  - name: {name}
    channel: sms
    schedule: {{cron: "0 10 * * mon-fri", timezone: America/New_York}}
    sms_template:
      en-US: "{en}"
      zh-CN: "{zh}"
"""


def test_campaign_names_must_be_unique(tmp_path: Path) -> None:
    text = "campaigns:" + CAMPAIGN.format(name="a", en="hi", zh="您好") * 2
    assert problems(write(tmp_path, text)) == ["campaigns.1.name: another campaign is named 'a'"]


def test_an_sms_template_over_the_segment_limit_is_refused(tmp_path: Path) -> None:
    # 3 UCS-2 segments hold 201 units: 200 Chinese characters plus the notice cannot fit.
    long_zh = "请尽快还款" * 40
    text = "campaigns:" + CAMPAIGN.format(name="a", en="Hi {first_name}", zh=long_zh)
    got = problems(write(tmp_path, text))
    assert len(got) == 1
    assert got[0].startswith("campaigns.0.sms_template.zh-CN: up to 4 UCS-2 segments")
    # One segment more allowed: the same template passes.
    ok = load_settings(write(tmp_path, text + "sms:\n  max_segments: 4\n"), {})
    assert ok.campaigns[0].name == "a"


def test_one_curly_quote_makes_an_english_template_ucs2(tmp_path: Path) -> None:
    plain = "x" * 140  # with the notice: 163 GSM-7 septets, 2 segments
    text = "campaigns:" + CAMPAIGN.format(name="a", en=plain, zh="您好")
    assert load_settings(write(tmp_path, text + "sms:\n  max_segments: 2\n"), {}).campaigns
    curly = "campaigns:" + CAMPAIGN.format(name="a", en=plain + "’", zh="您好")
    got = problems(write(tmp_path, curly + "sms:\n  max_segments: 2\n"))
    assert got and got[0].startswith("campaigns.0.sms_template.en-US: up to 3 UCS-2 segments")


@pytest.mark.parametrize(
    ("variable", "url", "key"),
    [
        ("DUECALL_PUBLIC_URL", "https://user:s3cret@duecall.example.com", "server.public_url"),
        ("DUECALL_PUBLIC_URL", "https://user@duecall.example.com", "server.public_url"),
        (
            "DUECALL_TWILIO_API_URL",
            "https://AC0123456789abcdef0123456789abcdef:s3cret@api.example.com",
            "twilio.api_url",
        ),
    ],
)
def test_credentials_in_the_public_or_api_url_are_refused_and_never_printed(
    tmp_path: Path, variable: str, url: str, key: str
) -> None:
    got = problems(write(tmp_path, ""), {variable: url})
    assert len(got) == 1 and got[0].startswith(f"{key}: must not carry a user name or password")
    assert "s3cret" not in got[0] and "AC0123" not in got[0]
    # The same in the config file.
    section, field = key.split(".")
    got = problems(write(tmp_path, f'{section}:\n  {field}: "{url}"\n'))
    assert len(got) == 1 and got[0].startswith(f"{key}: must not carry a user name or password")
    assert "s3cret" not in got[0]


def test_a_database_password_in_the_query_string_is_a_password_too(tmp_path: Path) -> None:
    got = problems(
        write(tmp_path, "database:\n  url: postgresql+psycopg://u@db/duecall?password=s3cret\n")
    )
    assert got[0].startswith("database.url: contains a password")
    assert all("s3cret" not in problem for problem in got)


def test_a_url_quoted_in_a_config_error_has_its_password_masked(tmp_path: Path) -> None:
    # A URL written where a key belongs (a colon too many) is named as an unknown key.
    got = problems(write(tmp_path, "server:\n  https://ops:s3cret@duecall.example.com: 1\n"))
    assert got == ["server.https://ops:***@duecall.example.com: unknown key"]
