"""The agent's screen (``/desk/``) and the supervisor's page (``/desk/supervisor``).

The screen is one server-rendered page; ``static/console.js`` polls :func:`live` every
``desk.console.poll_seconds`` for the agent's state, the live queue (an HTML fragment rendered
here, escaped by Jinja) and the queue record bridged to the agent, and loads :func:`pop` once
per bridged caller: that load is the "open" that is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request
from sqlalchemy.orm import Session

from desk.agents import all_agents, choose_state
from desk.console.auth import console_config, now, passive, signed_in, supervisor_only, user
from desk.errors import AgentError
from desk.figures import desk_figures
from desk.screen import bridged_entry, live_queue, open_account
from store.models_desk import DeskAgent

blueprint = Blueprint(
    "desk_console",
    __name__,
    url_prefix="/desk",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
#: The buttons of the screen: the state each asks for, and its label.
STATE_BUTTONS = (("available", "Available"), ("away", "Away"), ("wrap_up", "Wrap-up"))
#: How the screen names each agent state.
STATE_LABELS = {
    "away": "Away",
    "available": "Available",
    "offered": "Phone ringing",
    "on_call": "On a call",
    "wrap_up": "Wrap-up",
}


def _agent(session: Session) -> DeskAgent:
    agent = session.get(DeskAgent, user().id)
    if agent is None:
        abort(403)
    return agent


def _json(status: int, **body: Any) -> Response:
    response = jsonify(**body)
    response.status_code = status
    return response


@blueprint.get("/")
@signed_in
def screen() -> str:
    config = console_config()
    with config.db.session(readonly=True) as s:
        agent = _agent(s)
        state = agent.state
    return render_template(
        "desk/screen.html",
        agent=user(),
        state=state,
        labels=STATE_LABELS,
        buttons=STATE_BUTTONS,
        poll_ms=int(config.desk.console.poll_seconds * 1000),
    )


@blueprint.get("/live")
@passive
@signed_in
def live() -> Response:
    """The agent's state, the live queue as an HTML fragment, and the bridged caller's record."""
    config = console_config()
    instant = now()
    with config.db.session(readonly=True) as s:
        agent = _agent(s)
        queue = live_queue(s, now=instant, urgency=[q.name for q in config.desk.queues])
        entry = bridged_entry(s, agent)
        state = agent.state
    return jsonify(
        state=state,
        state_label=STATE_LABELS.get(state, state),
        waiting=len(queue),
        queue_html=render_template("desk/_queue.html", queue=queue),
        bridged=entry.id if entry is not None else None,
    )


@blueprint.post("/state")
@signed_in
def state() -> Response:
    """A state button: available, away or wrap-up, through the desk's state machine."""
    wanted = request.form.get("state", "")
    with console_config().db.session() as s:
        agent = _agent(s)
        try:
            message = choose_state(s, agent, wanted, now=now(), actor=agent.name)
        except AgentError as exc:
            return _json(409, error=str(exc))
        s.flush()
        s.refresh(agent)
        return _json(200, message=message, state=agent.state)


@blueprint.post("/next")
@signed_in
def take_next() -> Response:
    """ "Take next call": the live transfer (the dialer worker's desk job) offers the longest
    waiting caller to the longest-available agent, ringing their phone; this makes the agent
    available for it now, from away or wrap-up."""
    with console_config().db.session() as s:
        agent = _agent(s)
        if agent.state != "available":
            try:
                choose_state(s, agent, "available", now=now(), actor=agent.name)
            except AgentError as exc:
                return _json(409, error=str(exc))
        return _json(
            200,
            message="You are available: your phone rings with the next caller.",
            state="available",
        )


@blueprint.get("/pop/<int:entry_id>")
@signed_in
def pop(entry_id: int) -> str:
    """The screen pop of the caller bridged to the agent; opening it is audited."""
    with console_config().db.session() as s:
        agent = _agent(s)
        entry = bridged_entry(s, agent)
        if entry is None or entry.id != entry_id:
            abort(404)
        shown = open_account(s, agent, entry, now=now(), why=f"bridged call, reason {entry.reason}")
        return render_template("desk/_pop.html", pop=shown)


@blueprint.get("/supervisor")
@supervisor_only
def supervisor() -> str:
    """Queues live and agents by state (:mod:`desk.figures`), over the last day."""
    config = console_config()
    instant = now()
    with config.db.session(readonly=True) as s:
        figures = desk_figures(s, config.desk, now=instant, since=instant - timedelta(days=1))
        agents = [(a.name, a.role, a.state) for a in all_agents(s)]
    return render_template(
        "desk/supervisor.html", figures=figures, agents=agents, labels=STATE_LABELS
    )
