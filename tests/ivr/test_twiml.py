"""The call flow's TwiML, written as text, is byte for byte what Twilio's TwiML builders write."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest
from twilio.twiml import GenericNode, TwiML
from twilio.twiml.voice_response import VoiceResponse

from ivr import twiml
from ivr.catalogue import Catalogue, load_catalogues
from ivr.render import Renderer
from ivr.session import AccountFacts, CallSession, State
from tests.ivr.ivr_support import EN, ZH, build_flow, context
from tests.ivr.test_ivr_machine import scripted_calls


def _sdk_node(element: ET.Element) -> TwiML:
    node = GenericNode(element.tag, element.text, **element.attrib)
    for child in element:
        node.nest(_sdk_node(child))
    return node


def as_the_sdk_writes_it(document: str) -> str:
    """``document`` parsed and written again by the SDK's own serialiser."""
    root = ET.fromstring(document)
    response = VoiceResponse()
    for child in root:
        response.nest(_sdk_node(child))
    return str(response)


@pytest.mark.parametrize("facts", [EN, ZH], ids=["en-US", "zh-CN"])
def test_every_document_of_every_state_is_the_sdks_byte_for_byte(facts: AccountFacts) -> None:
    states: set[State] = set()
    for call in scripted_calls(facts):
        for turn in call.turns:
            assert turn.twiml is not None
            assert turn.twiml == as_the_sdk_writes_it(turn.twiml), turn.session.state
            states.add(turn.session.state)
    assert states == set(State)


@pytest.mark.parametrize(
    "text",
    ['Tom & Jerry <owe> "you" > 0', "您的余额是¥18,652.43。", "", "tab\there\nnewline"],
)
def test_a_say_escapes_its_text_as_the_sdk_does(text: str) -> None:
    sdk = VoiceResponse()
    sdk.say(text, voice="Polly.Joanna", language="en-US")
    ours = twiml.say(twiml.say_open("Polly.Joanna", "en-US"), text)
    assert f"{twiml.DOCUMENT_OPEN}{ours}{twiml.DOCUMENT_CLOSE}" == str(sdk)


def test_attributes_are_sorted_camel_cased_and_escaped_as_the_sdk_does() -> None:
    url = 'https://x.test/twilio/voice?step=2&miss=1&note="a<b>"\t\r\n'
    sdk = VoiceResponse()
    sdk.gather(action=url, method="POST", timeout=6, input="dtmf", action_on_empty_result=True)
    sdk.pause(length=2)
    sdk.redirect(url, method="POST")
    sdk.hangup()
    gather = {
        "action": url,
        "method": "POST",
        "timeout": 6,
        "input": "dtmf",
        "action_on_empty_result": True,
        "num_digits": None,
    }
    ours = (
        twiml.DOCUMENT_OPEN
        + twiml.element("Gather", gather)
        + twiml.pause(2)
        + twiml.redirect(url)
        + twiml.HANGUP
        + twiml.DOCUMENT_CLOSE
    )
    assert ours == str(sdk)
    hangup = VoiceResponse()
    hangup.hangup()
    assert str(hangup) == twiml.HANGUP_DOCUMENT


def test_a_prompt_added_to_a_catalogue_is_precompiled_without_code() -> None:
    flow = build_flow()
    english = load_catalogues(("en-US",))["en-US"]
    # As if ivr/prompts/en-US.yaml had gained an entry.
    entries = {**english._entries, "plan_offer": "To hear a repayment plan, press 4."}
    grown = {**flow.catalogues, "en-US": Catalogue("en-US", entries)}
    renderer = Renderer(dataclasses.replace(flow, catalogues=grown))
    fragment = renderer._fixed[("To hear a repayment plan, press 4.", "en-US")]
    assert fragment == (
        '<Say language="en-US" voice="Polly.Joanna">To hear a repayment plan, press 4.</Say>'
    )
    # And a line that reads as it is served from there, identical to the SDK's.
    sdk = VoiceResponse()
    sdk.say("To hear a repayment plan, press 4.", voice="Polly.Joanna", language="en-US")
    assert renderer.say("To hear a repayment plan, press 4.", "en-US") in str(sdk)
    # A prompt with placeholders is filled per request, never precompiled with a stale value.
    assert all("{" not in text for text, _ in renderer._fixed)


def test_the_rendered_document_carries_the_sessions_step_urls() -> None:
    flow = build_flow()
    renderer = Renderer(flow)
    session = CallSession(call_sid="CA" + "0" * 32, direction="inbound", state=State.MENU, step=3)
    document = renderer.render(dataclasses.replace(session, language="en-US"), context())
    assert document == as_the_sdk_writes_it(document)
    root = ET.fromstring(document)
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == f"{flow.public_url}/twilio/voice?step=3"
    redirect = root.find("Redirect")
    assert redirect is not None and redirect.text == f"{flow.public_url}/twilio/voice?step=3&miss=1"
