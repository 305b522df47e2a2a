"""One typed settings object, loaded once.

Order of precedence: the defaults declared here, then ``config.yaml``, then the environment
(the README's "Configuration"). Secrets come only from the environment, or from a file named by
the same variable with ``_FILE`` appended (Docker and Kubernetes secrets); a secret written in the
YAML is an error, because config files end up in repositories and tickets.

Every problem is reported as ``key.path: message``; :class:`ConfigError` carries all of them at once
so an operator fixes the file in one pass.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import parse_qsl, urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from campaigns.concession_config import ConcessionSettings
from campaigns.config import CampaignSettings, PromiseSettings, SmsSettings
from campaigns.plan_settings import PlanSettings
from campaigns.sms import count_segments, render, worst_case_values
from desk.config import DeskSettings
from dialer.config import DialerSettings
from dialer.policy import PolicyProfile
from dialer.profiles import PolicyBook
from ivr.config import IvrSettings
from store.privacy import mask_url_passwords

DEFAULT_CONFIG_PATH = Path("config.yaml")
LANGUAGES = ("en-US", "zh-CN")
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


class ConfigError(Exception):
    """Raised when the configuration cannot be used; ``problems`` lists ``key.path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/duecall.db"
    echo: bool = False
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    pool_size: int = Field(default=5, ge=1)
    #: Opening a connection (or waiting for one from the pool) gives up after this.
    connect_timeout_seconds: int = Field(default=5, ge=2, le=60)
    #: The web process's longest statement or lock wait (PostgreSQL ``statement_timeout`` and
    #: ``lock_timeout``; SQLite's busy timeout): Twilio waits 15 s for a webhook's answer, and
    #: the fault barrier still needs time to apologise.
    web_timeout_ms: int = Field(default=4_000, ge=100, le=10_000)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:5000"

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://duecall.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        if _has_user_info(value):
            # Twilio proves itself with X-Twilio-Signature, checked against this URL; a password
            # in it would be one more secret in a config file, a unit file and every log line.
            raise ValueError("must not carry a user name or password (user:password@host)")
        return value.rstrip("/")


class BusinessSettings(_Section):
    """Who the cardholder hears and reads about.

    A voicemail may name nothing but these (Reg F 1006.2(j)).
    """

    #: ``first_party``: a card issuer collecting its own debts; ``third_party_collector``: an
    #: agency collecting for it, bound by the FDCPA's disclosures (Reg F 1006.18(e)): every call
    #: (after verification) and every text says it is from a debt collector.
    kind: Literal["first_party", "third_party_collector"] = "first_party"
    name: str = "Northwind Card Services"
    agent_name: str = "Alex Morgan"
    callback_number: str = "+18005550100"
    support_number: str = "+18005550100"


class TwilioSettings(_Section):
    caller_id: str = "+15005550006"
    messaging_service_sid: str | None = None
    api_url: str | None = None
    region: str | None = None
    edge: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=600)

    @field_validator("messaging_service_sid")
    @classmethod
    def _messaging_sid(cls, value: str | None) -> str | None:
        # The Twilio adapter refuses anything else when the dialer starts: say so here first.
        if value is not None and not MESSAGING_SERVICE_SID.fullmatch(value):
            raise ValueError("must be a Messaging Service SID: MG followed by 32 hex digits")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be scheme://host[:port], for example http://127.0.0.1:8080")
        if _has_user_info(value):
            raise ValueError(
                "must not carry a user name or password (user:password@host): the credentials "
                "come from TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        return value.rstrip("/")


class ImportSettings(_Section):
    batch_size: int = Field(default=500, ge=1, le=50_000)
    default_region: str = Field(default="US", min_length=2, max_length=2)
    default_currency: str = Field(default="USD", min_length=3, max_length=3)
    default_voice_consent: bool = True
    default_sms_consent: bool = True
    consent_source: str = "cardholder_agreement"
    min_age_years: int = Field(default=18, ge=0, le=120)
    max_age_years: int = Field(default=120, ge=1, le=150)


ProfileName = Literal["us_reg_f", "cn_cba"]
_CN_CBA: ProfileName = "cn_cba"


class PolicySettings(_Section):
    """The contact policy: shipped legal profiles, chosen per contact, their values overridden.

    ``profile`` is the default; ``by_country`` maps the ISO country of the number contacted to
    another profile (``{CN: cn_cba}``: a book with US and Chinese cardholders needs both).
    ``overrides`` takes any field of :class:`dialer.policy.PolicyProfile` for the default
    profile, for example ``{margin_minutes: 15, holidays: {US: [2026-12-25]}}``;
    ``profiles.<name>`` the same for any profile.
    """

    profile: Literal["us_reg_f", "cn_cba"] = "us_reg_f"
    # Chinese numbers are called under the China guideline unless configured otherwise.
    by_country: dict[str, ProfileName] = Field(default_factory=lambda: {"CN": _CN_CBA})
    overrides: dict[str, Any] = Field(default_factory=dict)
    profiles: dict[Literal["us_reg_f", "cn_cba"], dict[str, Any]] = Field(default_factory=dict)

    @field_validator("by_country")
    @classmethod
    def _countries(cls, value: dict[str, str]) -> dict[str, str]:
        for country in value:
            if len(country) != 2 or not country.isalpha():
                raise ValueError(f"{country!r} is not an ISO 3166-1 alpha-2 country code")
        return {country.upper(): name for country, name in value.items()}

    @model_validator(mode="after")
    def _builds(self) -> PolicySettings:
        for name in {self.profile, *self.by_country.values()}:
            try:
                self._profile(name)
            except ValidationError as exc:
                where = "overrides" if name == self.profile else f"profiles.{name}"
                raise ValueError(
                    "; ".join(
                        f"{where}.{'.'.join(map(str, e['loc']))}: {_message(PolicyProfile, e)}"
                        for e in exc.errors()
                    )
                ) from None
        return self

    def _profile(self, name: str) -> PolicyProfile:
        tuned = dict(self.profiles.get(name, {}))  # type: ignore[call-overload]
        if name == self.profile:
            tuned.update(self.overrides)
        return PolicyProfile.named(name, **tuned)

    @cached_property
    def built(self) -> PolicyBook:
        """The profiles in force, chosen per contact."""
        return PolicyBook(
            self._profile(self.profile),
            {country: self._profile(name) for country, name in self.by_country.items()},
        )


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False


class Secrets(_Section):
    """Values that exist only in the environment; never printed."""

    twilio_account_sid: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    secret_key: SecretStr | None = None


class Settings(_Section):
    """The whole configuration; built by :func:`load_settings`, never at import time."""

    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    business: BusinessSettings = BusinessSettings()
    twilio: TwilioSettings = TwilioSettings()
    languages: tuple[str, ...] = LANGUAGES
    import_: ImportSettings = Field(default=ImportSettings(), alias="import")
    policy: PolicySettings = PolicySettings()
    ivr: IvrSettings = IvrSettings()
    dialer: DialerSettings = DialerSettings()
    desk: DeskSettings = DeskSettings()
    campaigns: tuple[CampaignSettings, ...] = ()
    sms: SmsSettings = SmsSettings()
    promises: PromiseSettings = PromiseSettings()
    plans: PlanSettings = PlanSettings()
    concessions: ConcessionSettings = ConcessionSettings()
    logging: LoggingSettings = LoggingSettings()
    secrets: Secrets = Field(default=Secrets(), exclude=True)
    #: The configuration file that was read, as an absolute path; None: built-in defaults only.
    source: str | None = Field(default=None, exclude=True)
    #: Where each value taken from the environment came from: the key path (``server.public_url``)
    #: or the secret's variable (``TWILIO_AUTH_TOKEN``) -> the variable read (``..._FILE`` too).
    origins: dict[str, str] = Field(default_factory=dict, exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [lang for lang in value if lang not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; known: {list(LANGUAGES)}")
        if not value:
            raise ValueError("at least one language is required")
        return value

    @model_validator(mode="after")
    def _campaigns_fit(self) -> Settings:
        """Campaign names are unique, and every SMS template fits ``sms.max_segments`` with the
        longest plausible values and the opt-out notice (a template over it would be split
        into extra billed parts, or cut by carriers)."""
        problems: list[str] = []
        seen: set[str] = set()
        for index, campaign in enumerate(self.campaigns):
            if campaign.name in seen:
                problems.append(
                    f"campaigns.{index}.name: another campaign is named {campaign.name!r}"
                )
            seen.add(campaign.name)
            for language, template in campaign.sms_template.items():
                if (
                    self.business.kind == "third_party_collector"
                    and "{collector_disclosure}" not in template
                ):
                    problems.append(
                        f"campaigns.{index}.sms_template.{language}: a third-party debt "
                        "collector's every text must say it is from a debt collector: add "
                        "{collector_disclosure} (Reg F 1006.18(e))"
                    )
                notice = self.sms.opt_out_notice.get(language)
                values = {
                    **worst_case_values(language),
                    "business_name": self.business.name,
                    "callback_number": self.business.callback_number,
                    "support_number": self.business.support_number,
                }
                parts = count_segments(render(template, values, opt_out_notice=notice))
                if parts.count > self.sms.max_segments:
                    problems.append(
                        f"campaigns.{index}.sms_template.{language}: up to {parts.count} "
                        f"{parts.encoding} segments with the opt-out notice "
                        f"(sms.max_segments is {self.sms.max_segments})"
                    )
        for language in self.languages:
            if language not in self.sms.opt_out_notice:
                problems.append(f"sms.opt_out_notice.{language}: missing")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def require(self, *names: str, command: str) -> None:
        """Raise :class:`ConfigError` naming each secret in ``names`` that is not set.

        ``names`` are the environment variable names of :data:`SECRET_ENV`.
        """
        missing = [
            f"{name}: not set (needed by `duecall {command}`; set it or {name}_FILE)"
            for name in names
            if getattr(self.secrets, SECRET_ENV[name]) is None
        ]
        if missing:
            raise ConfigError(missing)

    def secret(self, name: str) -> str:
        """The value of the secret whose environment variable is ``name``; call require() first."""
        value = getattr(self.secrets, SECRET_ENV[name])
        if value is None:
            raise ConfigError([f"{name}: not set"])
        return str(value.get_secret_value())


# Environment variable -> field of Secrets.
SECRET_ENV: dict[str, str] = {
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "DUECALL_SECRET_KEY": "secret_key",
}

# Environment variable -> the YAML key it overrides.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "DUECALL_DATABASE_URL": ("database", "url"),
    "DUECALL_PUBLIC_URL": ("server", "public_url"),
    "DUECALL_TWILIO_API_URL": ("twilio", "api_url"),
}

# Keys that look like secrets wherever they appear in the YAML.
_SECRET_KEYS = {
    "auth_token": "TWILIO_AUTH_TOKEN",
    "account_sid": "TWILIO_ACCOUNT_SID",
    "secret_key": "DUECALL_SECRET_KEY",
    "password": "DUECALL_DATABASE_URL",
    "api_key": "the environment",
    "api_secret": "the environment",
}

# Which commands need which secrets: `check-config --for COMMAND` and each command's start use it.
# The web process needs the account SID too: it redirects answered reminder calls on the
# answering-machine verdict through the REST API.
COMMAND_SECRETS: dict[str, tuple[str, ...]] = {
    "serve": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "DUECALL_SECRET_KEY"),
    "dialer": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    "simulator": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
}


@dataclass(frozen=True)
class _EnvValue:
    value: str
    origin: str


def _env_value(name: str, environ: Mapping[str, str], problems: list[str]) -> _EnvValue | None:
    """Read ``name`` or the file named by ``name_FILE``; both set is ambiguous and an error."""
    direct = environ.get(name)
    file_name = environ.get(f"{name}_FILE")
    if direct is not None and file_name is not None:
        problems.append(f"{name}: set both {name} and {name}_FILE; keep one")
        return None
    if file_name is not None:
        try:
            text = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(f"{name}_FILE: cannot read {file_name}: {exc.strerror}")
            return None
        if not text:
            problems.append(f"{name}_FILE: {file_name} is empty")
            return None
        return _EnvValue(text, f"{name}_FILE")
    if direct is not None and direct.strip():
        return _EnvValue(direct.strip(), name)
    return None


def _pop_secrets(node: Any, path: tuple[str, ...], problems: list[str]) -> None:
    """Report and remove every secret-looking key, so it is named once, as a secret."""
    if isinstance(node, dict):
        for key in list(node):
            key_path = (*path, str(key))
            if str(key) in _SECRET_KEYS:
                value = node.pop(key)
                if value not in (None, ""):
                    problems.append(
                        f"{'.'.join(key_path)}: secrets are not read from the config file; "
                        f"set {_SECRET_KEYS[str(key)]} (or its _FILE variant) instead"
                    )
            else:
                _pop_secrets(node[key], key_path, problems)


def url_has_password(url: str) -> bool:
    """True when ``url`` carries a password: ``user:password@host``, or the ``password``
    parameter libpq and psycopg also read from the query string."""
    try:
        parts = urlsplit(url)
        return bool(parts.password) or any(
            key.lower() == "password" and value
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        )
    except ValueError:
        return False


def _has_user_info(url: str) -> bool:
    """True when ``url`` names a user or a password before its host (``user:pw@host``)."""
    try:
        parts = urlsplit(url)
        return parts.username is not None or parts.password is not None
    except ValueError:
        return "@" in url


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model ``annotation`` is, or the one it makes optional (``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        models = [m for m in map(_model_in, get_args(annotation)) if m is not None]
        return models[0] if len(models) == 1 else None
    return None


def _item_type(annotation: Any) -> Any:
    """What one element of a container field is: the value of a dict, the item of a tuple."""
    args = [a for a in get_args(annotation) if a is not Ellipsis]
    origin = get_origin(annotation)
    if origin is None or not args:
        return None
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return args[-1]
    return args[0]


def _keys_at(model: type[BaseModel], path: Sequence[int | str]) -> list[str]:
    """The keys valid at ``path`` (a pydantic error location) below ``model``; [] if unknown."""
    current: Any = model
    for part in path:
        found = _model_in(current)
        if found is None:
            current = _item_type(current)  # a tuple index or a dict key
            continue
        fields = {(info.alias or name): info for name, info in found.model_fields.items()}
        if str(part) not in fields:
            return []
        current = fields[str(part)].annotation
    found = _model_in(current)
    if found is None:
        return []
    return [info.alias or name for name, info in found.model_fields.items() if not info.exclude]


def _message(model: type[BaseModel], err: Any) -> str:
    """One validation error's message; an unknown key suggests the nearest valid one."""
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        loc = tuple(err["loc"])
        near = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]), n=1)
        return f"unknown key; did you mean `{near[0]}`?" if near else "unknown key"
    return message.removeprefix("Value error, ")


def _format_validation(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = _message(Settings, err)
        if loc == "(top level)" and ": " in message:
            # A whole-settings check names its own key paths, one problem per line.
            problems.extend(message.splitlines())
        else:
            problems.append(f"{loc}: {message}")
    return problems


def load_settings(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, the YAML file and the environment.

    ``path`` None means ``$DUECALL_CONFIG`` or ``./config.yaml`` when it exists (defaults
    otherwise); an explicit path that does not exist is an error. Raises :class:`ConfigError`
    with every problem. The result records what it read: ``source``, the file's absolute path
    (None when no file was read), and ``origins``, the variables that set values.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    explicit = path is not None or "DUECALL_CONFIG" in env
    config_path = Path(path if path is not None else env.get("DUECALL_CONFIG", DEFAULT_CONFIG_PATH))

    raw: dict[str, Any] = {}
    source: str | None = None
    if config_path.exists():
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError([f"{config_path}: not valid YAML{where}"]) from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError([f"{config_path}: the top level must be a mapping of sections"])
        raw = loaded
        # What was read, absolute: a relative path means nothing once it is printed elsewhere.
        source = os.path.abspath(config_path)
    elif explicit:
        raise ConfigError([f"{config_path}: no such file"])

    for reserved in ("secrets", "source", "origins"):
        if reserved in raw:
            problems.append(f"{reserved}: unknown key")
            raw.pop(reserved)
    _pop_secrets(raw, (), problems)
    db_url = raw.get("database", {}).get("url") if isinstance(raw.get("database"), dict) else None
    if isinstance(db_url, str) and url_has_password(db_url):
        problems.append(
            "database.url: contains a password; put the URL in DUECALL_DATABASE_URL "
            "(or DUECALL_DATABASE_URL_FILE) instead"
        )

    origins: dict[str, str] = {}
    for name, key_path in ENV_OVERRIDES.items():
        found = _env_value(name, env, problems)
        if found is not None:
            section = raw.setdefault(key_path[0], {})
            if isinstance(section, dict):
                section[key_path[1]] = found.value
                origins[".".join(key_path)] = found.origin

    secrets: dict[str, str] = {}
    for name, field in SECRET_ENV.items():
        found = _env_value(name, env, problems)
        if found is not None:
            secrets[field] = found.value
            origins[name] = found.origin

    settings: Settings | None = None
    try:
        settings = Settings.model_validate(
            {**raw, "secrets": secrets, "source": source, "origins": origins}
        )
    except ValidationError as exc:
        problems.extend(_format_validation(exc))

    if problems or settings is None:
        # No message quotes a URL today; if one ever does, its password is not printed.
        raise ConfigError([mask_url_passwords(problem) for problem in problems])
    return settings
