"""Sign-in, sign-out, the session timeout and the roles of the console.

A password is checked by :func:`desk.agents.sign_in` (argon2, and the lockout counted in the
store). The session is idle-timed: every request the agent makes (not the screen's own polls)
stamps the session, and a session older than ``desk.console.session_minutes`` is ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from desk.agents import MAX_NAME, sign_in
from desk.console import EXTENSION, ConsoleConfig
from store.models_desk import DeskAgent

blueprint = Blueprint("desk_auth", __name__, url_prefix="/desk", template_folder="templates")
F = TypeVar("F", bound=Callable[..., Any])
#: The session key that holds the time of the agent's last request (epoch seconds).
SEEN = "desk_seen"


@dataclass(frozen=True)
class ConsoleUser(UserMixin):  # type: ignore[misc]
    """The signed-in agent as Flask-Login holds them: read from ``desk_agents`` per request."""

    id: int
    name: str
    role: str

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


class LoginForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def console_config() -> ConsoleConfig:
    """The console's configuration on the current app (set by :func:`desk.console.init_app`)."""
    return cast(ConsoleConfig, current_app.extensions[EXTENSION])


def now() -> datetime:
    """The app's clock (tests give a fixed one): sign-in, lockout and timeout read it."""
    return console_config().clock.now()


def user() -> ConsoleUser:
    """The signed-in agent (views behind :func:`signed_in` only)."""
    return cast(ConsoleUser, current_user._get_current_object())


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def install(app: Flask, login: LoginManager, csrf: CSRFProtect, config: ConsoleConfig) -> None:
    """Flask-Login's loader and refusal, and the CSRF and timeout checks of ``/desk/``."""

    @login.user_loader  # type: ignore[untyped-decorator]
    def load(user_id: str) -> ConsoleUser | None:
        if not user_id.isdigit():
            return None
        with config.db.session(readonly=True) as s:
            agent = s.get(DeskAgent, int(user_id))
            if agent is None:
                return None
            return ConsoleUser(agent.id, agent.name, agent.role)

    @login.unauthorized_handler  # type: ignore[untyped-decorator]
    def refuse() -> BaseResponse:
        if _wants_json():
            return _json_error(401, "signed out: sign in again")
        return redirect(url_for("desk_auth.login", next=request.path))

    def guard() -> BaseResponse | None:
        # The timeout first: a timed-out session's POST is told to sign in again (401), not
        # refused for a token that belonged to the session it had.
        if current_user.is_authenticated:
            seen = session.get(SEEN)
            instant = now().timestamp()
            timeout = config.desk.console.session_minutes * 60
            if not isinstance(seen, (int, float)) or instant - seen > timeout:
                logout_user()
                session.clear()
                if _wants_json():
                    return _json_error(401, "the session timed out: sign in again")
                flash("Your session timed out. Sign in again.")
                return redirect(url_for("desk_auth.login"))
            view = current_app.view_functions.get(request.endpoint or "")
            if not getattr(view, "passive", False):
                session[SEEN] = instant
        if request.method == "POST":
            csrf.protect()
        return None

    app.before_request(_only_desk(guard))


def _only_desk(check: Callable[[], BaseResponse | None]) -> Callable[[], BaseResponse | None]:
    def run() -> BaseResponse | None:
        if request.blueprint not in ("desk_auth", "desk_console"):
            return None
        return check()

    return run


def passive(view: F) -> F:
    """Mark a view the screen polls by itself: it does not keep the session alive."""
    view.passive = True  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    """Refuse a visitor who is not signed in (to the sign-in page, or 401 for the screen's
    own requests)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        return view(*args, **kwargs)

    return cast(F, wrapped)


def supervisor_only(view: F) -> F:
    """Signed in as a supervisor, else 403 (an agent) or the sign-in page (nobody)."""

    @wraps(view)
    @signed_in
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not user().is_supervisor:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _json_error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def _home(role: str) -> str:
    return url_for("desk_console.supervisor" if role == "supervisor" else "desk_console.screen")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    """The sign-in form; a right password starts a session, a wrong one counts."""
    if current_user.is_authenticated:
        return redirect(_home(user().role))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("desk/login.html", form=form)
    config = console_config()
    instant = now()
    with config.db.session() as s:
        result = sign_in(
            s,
            form.name.data or "",
            form.password.data or "",
            now=instant,
            attempts=config.desk.console.lockout_attempts,
            lockout=timedelta(minutes=config.desk.console.lockout_minutes),
        )
        agent = result.agent
        signed = ConsoleUser(agent.id, agent.name, agent.role) if agent is not None else None
    if signed is None:
        if result.refused == "locked" and result.locked_until is not None:
            until = result.locked_until.astimezone(UTC).strftime("%H:%M UTC")
            message = f"Too many wrong passwords: sign-in is locked until {until}."
        else:
            message = "Wrong name or password."
        return render_template("desk/login.html", form=form, error=message), 401
    session.clear()  # a fresh session for the new identity (no fixation)
    session.permanent = True
    login_user(signed)
    session[SEEN] = instant.timestamp()
    target = request.args.get("next", "")
    if not (target.startswith("/desk/") and not target.startswith("//")):
        target = _home(signed.role)
    return redirect(target)


@blueprint.post("/logout")
def logout() -> BaseResponse:
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("desk_auth.login"))
