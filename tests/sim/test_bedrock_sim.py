"""The simulated Bedrock runtime, checked with the official boto3 `bedrock-runtime` client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.config
import botocore.eventstream
import botocore.exceptions
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from govern.sim.server import Fault, SimUpstreamThread
from govern.sim.sigv4 import verify
from tests.conftest import SIM_AWS_KEY_ID, SIM_AWS_SECRET

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROFILE_MODEL = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            }
        },
    }
}


def client(
    sim: SimUpstreamThread,
    *,
    secret: str = SIM_AWS_SECRET,
    key_id: str = SIM_AWS_KEY_ID,
    validate: bool = True,
) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=sim.url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=botocore.config.Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=validate,
        ),
    )


@pytest.fixture
def bedrock(sim_upstream: SimUpstreamThread) -> Any:
    return client(sim_upstream)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def words(text: str) -> list[str]:
    return text.split()


# --- converse ----------------------------------------------------------------------------


def test_converse_answers_exactly_max_tokens_words(bedrock: Any) -> None:
    response = bedrock.converse(
        modelId=MODEL,
        messages=[user("tell me about gateways")],
        inferenceConfig={"maxTokens": 7},
    )
    text = response["output"]["message"]["content"][0]["text"]
    assert len(words(text)) == 7
    assert response["stopReason"] == "max_tokens"
    assert response["usage"] == {"inputTokens": 4, "outputTokens": 7, "totalTokens": 11}
    assert response["output"]["message"]["role"] == "assistant"


def test_converse_without_limit_answers_default_words_with_end_turn(bedrock: Any) -> None:
    response = bedrock.converse(modelId=MODEL, messages=[user("hello")])
    assert response["stopReason"] == "end_turn"
    assert response["usage"]["outputTokens"] == 16
    assert isinstance(response["metrics"]["latencyMs"], int)


def test_converse_counts_system_prompt_as_input(bedrock: Any) -> None:
    response = bedrock.converse(
        modelId=MODEL,
        messages=[user("one two three")],
        system=[{"text": "you are a careful assistant"}],
        inferenceConfig={"maxTokens": 2},
    )
    assert response["usage"]["inputTokens"] == 3 + 5


def test_converse_stop_sequence_cuts_the_answer(bedrock: Any) -> None:
    messages = [user("count words for me")]
    full = bedrock.converse(modelId=MODEL, messages=messages, inferenceConfig={"maxTokens": 8})
    full_words = words(full["output"]["message"]["content"][0]["text"])
    stop = " " + full_words[3] + " "
    cut = bedrock.converse(
        modelId=MODEL,
        messages=messages,
        inferenceConfig={"maxTokens": 8, "stopSequences": [stop]},
    )
    assert cut["stopReason"] == "stop_sequence"
    assert words(cut["output"]["message"]["content"][0]["text"]) == full_words[:3]
    assert cut["usage"]["outputTokens"] == 3


def test_converse_forced_tool_returns_tool_use(bedrock: Any) -> None:
    response = bedrock.converse(
        modelId=MODEL,
        messages=[user("what is it like outside")],
        toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_weather"}}},
    )
    (block,) = response["output"]["message"]["content"]
    assert response["stopReason"] == "tool_use"
    assert block["toolUse"]["name"] == "get_weather"
    assert block["toolUse"]["input"] == {"city": "sim", "days": 0}
    assert block["toolUse"]["toolUseId"].startswith("tooluse_")


def test_converse_accepts_tool_result_turn(bedrock: Any) -> None:
    first = bedrock.converse(
        modelId=MODEL,
        messages=[user("check get_weather for Paris")],
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    use = first["output"]["message"]["content"][0]["toolUse"]
    response = bedrock.converse(
        modelId=MODEL,
        messages=[
            user("check get_weather for Paris"),
            first["output"]["message"],
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": use["toolUseId"],
                            "content": [{"json": {"temp": 21}}],
                        }
                    }
                ],
            },
        ],
        toolConfig={"tools": [WEATHER_TOOL]},
        inferenceConfig={"maxTokens": 4},
    )
    assert response["stopReason"] == "max_tokens"
    assert "text" in response["output"]["message"]["content"][0]


def test_converse_accepts_cross_region_profile_id(
    bedrock: Any, sim_upstream: SimUpstreamThread
) -> None:
    response = bedrock.converse(modelId=PROFILE_MODEL, messages=[user("hi")])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert sim_upstream.sim.requests[-1].path == f"/model/{PROFILE_MODEL}/converse"


# --- converse_stream ---------------------------------------------------------------------


def test_converse_stream_matches_converse(bedrock: Any) -> None:
    kwargs: dict[str, Any] = {
        "modelId": MODEL,
        "messages": [user("stream this please")],
        "inferenceConfig": {"maxTokens": 5},
    }
    whole = bedrock.converse(**kwargs)
    events = list(bedrock.converse_stream(**kwargs)["stream"])
    names = [next(iter(e)) for e in events]
    assert names == ["messageStart"] + ["contentBlockDelta"] * 5 + [
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events[1:6])
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[0]["messageStart"] == {"role": "assistant"}
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    assert events[-1]["metadata"]["usage"] == whole["usage"]
    assert "latencyMs" in events[-1]["metadata"]["metrics"]


def test_converse_stream_tool_use_arrives_in_fragments(bedrock: Any) -> None:
    events = list(
        bedrock.converse_stream(
            modelId=MODEL,
            messages=[user("anything")],
            toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}},
        )["stream"]
    )
    start = events[1]["contentBlockStart"]["start"]["toolUse"]
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e
    ]
    assert start["name"] == "get_weather"
    assert len(fragments) == 2
    assert "".join(fragments) == '{"city":"sim","days":0}'
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


# --- authentication ----------------------------------------------------------------------


def test_unsigned_request_is_rejected(sim_upstream: SimUpstreamThread) -> None:
    response = httpx.post(
        f"{sim_upstream.url}/model/{MODEL}/converse",
        json={"messages": [user("hi")]},
    )
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")
    assert response.json() == {"message": "Missing Authentication Token"}


def test_wrong_secret_is_an_invalid_signature(sim_upstream: SimUpstreamThread) -> None:
    bad = client(sim_upstream, secret="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bad.converse(modelId=MODEL, messages=[user("hi")])
    error = info.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Message"].startswith("The request signature we calculated does not")


def test_unknown_access_key_is_unrecognized(sim_upstream: SimUpstreamThread) -> None:
    bad = client(sim_upstream, key_id="AKIDUNKNOWN")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bad.converse(modelId=MODEL, messages=[user("hi")])
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert info.value.response["Error"]["Message"] == (
        "The security token included in the request is invalid."
    )


def _signed(url: str, body: bytes, service: str) -> AWSRequest:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(SIM_AWS_KEY_ID, SIM_AWS_SECRET), service, "us-east-1").add_auth(request)
    return request


def test_signature_for_another_service_is_rejected(sim_upstream: SimUpstreamThread) -> None:
    body = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
    request = _signed(f"{sim_upstream.url}/model/{MODEL}/converse", body, "s3")
    response = httpx.post(request.url, content=body, headers=dict(request.headers.items()))
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert "scoped to correct service: 'bedrock'" in response.json()["message"]


def test_stale_signature_is_expired() -> None:
    body = b"{}"
    request = _signed("http://127.0.0.1:1/model/m/converse", body, "bedrock")
    headers = CIMultiDict(request.headers.items())
    headers["Host"] = "127.0.0.1:1"
    failure = verify(
        method="POST",
        raw_path="/model/m/converse",
        headers=headers,
        body=body,
        credentials={SIM_AWS_KEY_ID: SIM_AWS_SECRET},
        service="bedrock",
        now=datetime.now(UTC) + timedelta(minutes=10),
    )
    assert failure is not None
    assert failure.error_type == "InvalidSignatureException"
    assert failure.message.startswith("Signature expired:")


def test_tampered_body_breaks_the_signature(sim_upstream: SimUpstreamThread) -> None:
    body = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
    request = _signed(f"{sim_upstream.url}/model/{MODEL}/converse", body, "bedrock")
    tampered = body.replace(b"hi", b"yo")
    response = httpx.post(request.url, content=tampered, headers=dict(request.headers.items()))
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("InvalidSignatureException")


def test_correctly_signed_raw_request_is_answered(sim_upstream: SimUpstreamThread) -> None:
    body = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
    request = _signed(f"{sim_upstream.url}/model/{MODEL}/converse", body, "bedrock")
    response = httpx.post(request.url, content=body, headers=dict(request.headers.items()))
    assert response.status_code == 200
    assert response.json()["stopReason"] == "end_turn"


# --- validation --------------------------------------------------------------------------


def _validation_error(bedrock: Any, **kwargs: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bedrock.converse(modelId=MODEL, **kwargs)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message: str = info.value.response["Error"]["Message"]
    return message


def test_conversation_must_start_with_user(bedrock: Any) -> None:
    message = _validation_error(
        bedrock, messages=[{"role": "assistant", "content": [{"text": "hi"}]}]
    )
    assert message.startswith("A conversation must start with a user message.")


def test_roles_must_alternate(bedrock: Any) -> None:
    message = _validation_error(bedrock, messages=[user("a"), user("b")])
    assert message.startswith("A conversation must alternate between user and assistant")


def test_blank_text_is_rejected(bedrock: Any) -> None:
    message = _validation_error(bedrock, messages=[user("  ")])
    assert message.startswith(
        "The text field in the ContentBlock object at messages.0.content.0 is blank."
    )


def test_tool_blocks_need_tool_config(bedrock: Any) -> None:
    message = _validation_error(
        bedrock,
        messages=[
            user("hi"),
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "f", "input": {}}}],
            },
        ],
    )
    assert message == (
        "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    )


def test_max_tokens_below_one_is_rejected(sim_upstream: SimUpstreamThread) -> None:
    unchecked = client(sim_upstream, validate=False)
    message = _validation_error(unchecked, messages=[user("hi")], inferenceConfig={"maxTokens": 0})
    assert "'inferenceConfig.maxTokens' failed to satisfy constraint" in message


def test_temperature_above_one_is_rejected(bedrock: Any) -> None:
    message = _validation_error(
        bedrock, messages=[user("hi")], inferenceConfig={"temperature": 1.5}
    )
    assert "'inferenceConfig.temperature'" in message
    assert message.endswith("Member must have value less than or equal to 1")


# --- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(429, "ThrottlingException"), (500, "InternalServerException")]
)
def test_fault_status_maps_to_client_error_code(
    bedrock: Any, sim_upstream: SimUpstreamThread, status: int, code: str
) -> None:
    sim_upstream.sim.add_fault(Fault(status=status, message="simulated trouble", times=1))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bedrock.converse(modelId=MODEL, messages=[user("hi")])
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["Error"]["Message"] == "simulated trouble"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_stream_fault_midway_is_an_exception_event(
    bedrock: Any, sim_upstream: SimUpstreamThread
) -> None:
    sim_upstream.sim.add_fault(Fault(status=429, cut_after=2, message="slow down", times=1))
    stream = bedrock.converse_stream(modelId=MODEL, messages=[user("hi")])["stream"]
    received = []
    with pytest.raises(botocore.exceptions.EventStreamError) as info:
        for event in stream:
            received.append(event)
    assert len(received) == 2
    assert info.value.response["Error"]["Code"] == "throttlingException"
    assert info.value.response["Error"]["Message"] == "slow down"


def test_malformed_stream_fails_the_checksum(bedrock: Any, sim_upstream: SimUpstreamThread) -> None:
    sim_upstream.sim.add_fault(Fault(malformed=True, times=1))
    stream = bedrock.converse_stream(modelId=MODEL, messages=[user("hi")])["stream"]
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        list(stream)
