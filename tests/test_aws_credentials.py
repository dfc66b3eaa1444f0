"""The AWS credentials chain and region (relay_lite._aws_credentials).

Sources are given as environ dicts and temporary files (sans-I/O); container credentials
are fetched from a real loopback FakeServer standing in for the ECS agent. Reply bodies
are written in the shape the ECS agent documents (AccessKeyId, SecretAccessKey, Token,
Expiration as ISO 8601 UTC, RoleArn), e.g. from the ECS "task IAM role" docs.
"""

from __future__ import annotations

import socket
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

import pytest

from relay_lite import ConfigError, ConnectError
from relay_lite._aws_credentials import (
    CONTAINER_BASE_URL,
    ContainerCredentialsProvider,
    aws_sigv4,
    bedrock_authorizer,
    parse_expiration,
    resolve_credentials,
    resolve_region,
)
from relay_lite._session import KeyAuthorizer
from relay_lite._sigv4 import AWSCredentials, SigV4Authorizer
from relay_lite._transport import OutgoingRequest
from relay_lite.testing import FakeServer, RecordedRequest, Reply

ENV_SECRET = "envSecretKeyValue/abc123+XYZ"
FILE_SECRET = "fileSecretKeyValue/def456+UVW"
CONTAINER_SECRET = "containerSecretValue/ghi789"
CONTAINER_TOKEN = "containerSessionTokenValue=="
AGENT_TOKEN = "agent-authorization-token-42"


@pytest.fixture
def nowhere(tmp_path: Path) -> dict[str, str]:
    """An environment whose shared files do not exist (never the developer's own)."""
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "missing-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "missing-config"),
    }


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def key_id(found: object) -> str:
    assert isinstance(found, AWSCredentials)
    return found.access_key_id


# -- order between the sources ----------------------------------------------------------------


def test_explicit_keys_beat_environment_and_files(tmp_path: Path) -> None:
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": ENV_SECRET,
        "AWS_SHARED_CREDENTIALS_FILE": write(
            tmp_path / "c",
            f"[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = {FILE_SECRET}\n",
        ),
    }
    found = resolve_credentials(access_key_id="AKIDARG", secret_access_key="argSecret", environ=environ)
    assert found == AWSCredentials("AKIDARG", "argSecret")


def test_environment_keys_with_session_token(nowhere: dict[str, str]) -> None:
    environ = dict(
        nowhere, AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY=ENV_SECRET, AWS_SESSION_TOKEN="tok123"
    )
    assert resolve_credentials(environ=environ) == AWSCredentials("AKIDENV", ENV_SECRET, "tok123")


def test_environment_keys_beat_the_credentials_file(tmp_path: Path) -> None:
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": ENV_SECRET,
        "AWS_SHARED_CREDENTIALS_FILE": write(
            tmp_path / "c",
            f"[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = {FILE_SECRET}\n",
        ),
    }
    assert key_id(resolve_credentials(environ=environ)) == "AKIDENV"


@pytest.mark.parametrize(
    ("present", "missing"),
    [("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")],
)
def test_half_a_key_pair_in_the_environment_is_named(
    nowhere: dict[str, str], present: str, missing: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=dict(nowhere, **{present: ENV_SECRET}))
    assert str(caught.value) == f"{missing} is not set beside its pair"


def test_credentials_file_default_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path / "credentials",
        "[default]\naws_access_key_id = AKIDFILE\n"
        f"aws_secret_access_key = {FILE_SECRET}\naws_session_token = fileToken\n",
    )
    environ = {"AWS_SHARED_CREDENTIALS_FILE": path, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert resolve_credentials(environ=environ) == AWSCredentials("AKIDFILE", FILE_SECRET, "fileToken")


def test_aws_profile_picks_the_credentials_section(tmp_path: Path) -> None:
    path = write(
        tmp_path / "credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n"
        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s2\naws_security_token = legacyToken\n",
    )
    environ = {
        "AWS_SHARED_CREDENTIALS_FILE": path,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_PROFILE": "dev",
    }
    assert resolve_credentials(environ=environ) == AWSCredentials("AKIDDEV", "s2", "legacyToken")


def test_config_file_profile_section_when_the_credentials_file_lacks_it(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config",
        "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = us-west-2\n"
        "aws_access_key_id = AKIDCONFIG\naws_secret_access_key = s3\n",
    )
    credentials = write(
        tmp_path / "credentials", "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n"
    )
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config}
    assert key_id(resolve_credentials(profile="dev", environ=environ)) == "AKIDCONFIG"
    assert resolve_region(profile="dev", environ=environ) == "us-west-2"
    assert resolve_region(environ=environ) == "eu-west-1"


def test_credentials_file_beats_the_config_file(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config", "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = s3\n"
    )
    credentials = write(
        tmp_path / "credentials", "[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = s1\n"
    )
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config}
    assert key_id(resolve_credentials(environ=environ)) == "AKIDCRED"


def test_default_files_live_under_home(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    write(
        tmp_path / ".aws" / "credentials",
        "[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n",
    )
    write(tmp_path / ".aws" / "config", "[default]\nregion = ap-south-1\n")
    environ = {"HOME": str(tmp_path)}
    assert key_id(resolve_credentials(environ=environ)) == "AKIDHOME"
    assert resolve_region(environ=environ) == "ap-south-1"


def test_profile_argument_skips_environment_keys(tmp_path: Path) -> None:
    credentials = write(
        tmp_path / "credentials", "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = s\n"
    )
    environ = {
        "AWS_SHARED_CREDENTIALS_FILE": credentials,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": ENV_SECRET,
        "AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-value",
    }
    signer, _ = bedrock_authorizer("us-east-1", profile="work", environ=environ)
    assert isinstance(signer, SigV4Authorizer)
    assert signer.current_credentials().access_key_id == "AKIDWORK"


def test_files_beat_container_credentials(tmp_path: Path) -> None:
    credentials = write(
        tmp_path / "credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n"
    )
    environ = {
        "AWS_SHARED_CREDENTIALS_FILE": credentials,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
    }
    assert key_id(resolve_credentials(environ=environ)) == "AKIDFILE"


def test_relative_container_uri_is_below_the_ecs_agent(nowhere: dict[str, str]) -> None:
    environ = dict(nowhere, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/abc?x=1")
    found = resolve_credentials(environ=environ)
    assert isinstance(found, ContainerCredentialsProvider)
    assert (
        found.url
        == "http://169.254.170.2/v2/credentials/abc?x=1"
        == CONTAINER_BASE_URL + "/v2/credentials/abc?x=1"
    )


def test_nothing_found_lists_every_source(nowhere: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=nowhere)
    credentials, config = nowhere["AWS_SHARED_CREDENTIALS_FILE"], nowhere["AWS_CONFIG_FILE"]
    assert str(caught.value) == (
        "no AWS credentials found (profile 'default'); looked at: "
        "access_key_id=/secret_access_key= arguments, "
        f"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, shared credentials file {credentials} (not found), "
        f"config file {config} (not found), "
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/AWS_CONTAINER_CREDENTIALS_FULL_URI "
        "(SSO, credential_process, role_arn and instance metadata are not read)"
    )


def test_nothing_found_for_bedrock_names_the_api_key_variable_and_missing_sections(tmp_path: Path) -> None:
    credentials = write(
        tmp_path / "credentials", "[other]\naws_access_key_id = A\naws_secret_access_key = s\n"
    )
    # The profile exists, with a region but no keys: the chain goes on to the container.
    config = write(tmp_path / "config", "[profile dev]\nregion = us-east-1\n")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config, "AWS_PROFILE": "dev"}
    with pytest.raises(ConfigError) as caught:
        bedrock_authorizer("us-east-1", environ=environ)
    assert str(caught.value) == (
        "no AWS credentials found (profile 'dev'); looked at: access_key_id=/secret_access_key= arguments, "
        "AWS_BEARER_TOKEN_BEDROCK, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
        f"shared credentials file {credentials} (no [dev]), config file {config} [profile dev], "
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/AWS_CONTAINER_CREDENTIALS_FULL_URI "
        "(SSO, credential_process, role_arn and instance metadata are not read)"
    )


def test_half_a_key_pair_in_a_file_is_named_without_the_secret(tmp_path: Path) -> None:
    credentials = write(tmp_path / "credentials", f"[default]\naws_secret_access_key = {FILE_SECRET}\n")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=environ)
    assert (
        str(caught.value)
        == f"shared credentials file {credentials} [default] has no aws_access_key_id beside its other key"
    )


def test_unparsable_file_error_quotes_no_line(tmp_path: Path) -> None:
    credentials = write(tmp_path / "credentials", f"[default]\naws_access_key_id = A\n{FILE_SECRET}\n")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=environ)
    assert str(caught.value) == f"cannot parse the AWS file {credentials}: bad line 3"
    assert caught.value.__context__ is None  # configparser's error quotes the line


def test_file_without_a_section_header_names_the_line_number_only(tmp_path: Path) -> None:
    # A key above any [section]: configparser's MissingSectionHeaderError quotes the line.
    credentials = write(tmp_path / "credentials", f"aws_secret_access_key = {FILE_SECRET}\n[default]\n")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=environ)
    assert str(caught.value) == (
        f"cannot parse the AWS file {credentials}: bad line 1 (a key before any [section] header)"
    )
    assert (caught.value.__cause__, caught.value.__context__) == (None, None)
    assert FILE_SECRET not in "".join(traceback.format_exception(caught.type, caught.value, caught.tb))


@pytest.mark.parametrize(
    ("given", "expected"),
    [("~relay-lite-no-such-user/creds", "~relay-lite-no-such-user/creds"), ("~/creds", "{home}/creds")],
)
def test_tilde_is_the_environment_home_and_tilde_user_is_that_user(
    tmp_path: Path, given: str, expected: str
) -> None:
    # "~user" is not "$HOME" + "user": expanduser leaves an unknown user's path as written.
    environ = {
        "HOME": str(tmp_path),
        "AWS_SHARED_CREDENTIALS_FILE": given,
        "AWS_CONFIG_FILE": str(tmp_path / "x"),
    }
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=environ)
    where = expected.format(home=tmp_path)
    assert f"shared credentials file {where} (not found)" in str(caught.value)


def test_file_values_with_percent_signs_are_read_raw(tmp_path: Path) -> None:
    credentials = write(
        tmp_path / "credentials", "[default]\naws_access_key_id = A1\naws_secret_access_key = a%b%%c\n"
    )
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert resolve_credentials(environ=environ) == AWSCredentials("A1", "a%b%%c")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"access_key_id": "AKID"}, "pass access_key_id= and secret_access_key= together"),
        ({"secret_access_key": "s"}, "pass access_key_id= and secret_access_key= together"),
        ({"session_token": "t"}, "session_token= needs access_key_id= and secret_access_key="),
    ],
)
def test_incomplete_explicit_keys_are_a_config_error(
    nowhere: dict[str, str], arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=nowhere, **arguments)
    assert str(caught.value) == message


# -- Bedrock API keys --------------------------------------------------------------------------


def test_bedrock_api_key_argument_is_a_bearer_token(nowhere: dict[str, str]) -> None:
    authorizer, region = bedrock_authorizer("us-west-2", api_key="bedrock-api-key-value", environ=nowhere)
    assert isinstance(authorizer, KeyAuthorizer)
    assert region == "us-west-2"
    request = OutgoingRequest(
        "POST", "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/converse", {}, b"{}", 1
    )
    assert dict(authorizer.authorize(request)) == {"Authorization": "Bearer bedrock-api-key-value"}
    assert "bedrock-api-key-value" not in repr(authorizer)


def test_bedrock_api_key_variable_beats_environment_keys(nowhere: dict[str, str]) -> None:
    environ = dict(nowhere, AWS_BEARER_TOKEN_BEDROCK="bedrock-api-key-env", AWS_ACCESS_KEY_ID="AKIDENV",
                   AWS_SECRET_ACCESS_KEY=ENV_SECRET, AWS_REGION="eu-central-1")  # fmt: skip
    authorizer, region = bedrock_authorizer(environ=environ)
    assert region == "eu-central-1"
    assert isinstance(authorizer, KeyAuthorizer)
    assert "bedrock-api-key-env" in authorizer.secrets()


def test_explicit_keys_beat_the_bedrock_api_key_variable(nowhere: dict[str, str]) -> None:
    environ = dict(nowhere, AWS_BEARER_TOKEN_BEDROCK="bedrock-api-key-env")
    authorizer, _ = bedrock_authorizer(
        "us-east-1", access_key_id="AKIDARG", secret_access_key="s", environ=environ
    )
    assert isinstance(authorizer, SigV4Authorizer)
    assert (authorizer.service, authorizer.region) == ("bedrock", "us-east-1")


def test_api_key_and_access_keys_together_are_refused(nowhere: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^pass api_key= or access keys, not both$"):
        bedrock_authorizer(
            "us-east-1", api_key="k", access_key_id="A", secret_access_key="s", environ=nowhere
        )


def test_generic_signer_ignores_the_bedrock_api_key(nowhere: dict[str, str]) -> None:
    environ = dict(nowhere, AWS_BEARER_TOKEN_BEDROCK="bedrock-api-key-env", AWS_ACCESS_KEY_ID="AKIDENV",
                   AWS_SECRET_ACCESS_KEY=ENV_SECRET)  # fmt: skip
    signer = aws_sigv4(service="execute-api", region="us-east-1", environ=environ)
    assert signer.current_credentials().access_key_id == "AKIDENV"
    assert repr(signer) == "SigV4Authorizer(region='us-east-1', service='execute-api')"


def test_generic_signer_needs_a_service(nowhere: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^aws_sigv4\(\) needs service="):
        aws_sigv4(service=" ", region="us-east-1", environ=nowhere)


# -- region ------------------------------------------------------------------------------------


def test_region_order(nowhere: dict[str, str], tmp_path: Path) -> None:
    config = write(tmp_path / "config", "[default]\nregion = ca-central-1\n")
    environ = dict(nowhere, AWS_CONFIG_FILE=config)
    assert resolve_region(environ=environ) == "ca-central-1"
    environ["AWS_DEFAULT_REGION"] = "sa-east-1"
    assert resolve_region(environ=environ) == "sa-east-1"
    environ["AWS_REGION"] = "us-gov-west-1"
    assert resolve_region(environ=environ) == "us-gov-west-1"
    assert resolve_region("eu-north-1", environ=environ) == "eu-north-1"


def test_missing_region_lists_every_source(nowhere: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        bedrock_authorizer(api_key="k", environ=nowhere)
    assert str(caught.value) == (
        "no AWS region found; looked at: region= argument, AWS_REGION, AWS_DEFAULT_REGION, "
        f"region in config file {nowhere['AWS_CONFIG_FILE']} (not found)"
    )


def test_region_that_is_not_a_name_is_refused(nowhere: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_region(environ=dict(nowhere, AWS_REGION="evil.com/x"))
    assert str(caught.value) == "AWS_REGION is not an AWS region name: 'evil.com/x'"


# -- container credentials: the URL rules -------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/creds", "http://[::1]/creds", "http://localhost/creds", "http://169.254.170.23/v1/credentials",
     "https://credentials.example.com/creds"],
)  # fmt: skip
def test_container_url_allowed(url: str) -> None:
    assert ContainerCredentialsProvider(url).url == url


def test_container_url_over_plain_http_to_another_host_is_refused(nowhere: dict[str, str]) -> None:
    environ = dict(nowhere, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://attacker.example.com/creds")
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=environ)
    assert str(caught.value) == (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI names host 'attacker.example.com': over plain HTTP "
        "only a loopback address or 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost "
        "is allowed (use https:// for others)"
    )


def test_relative_container_uri_must_start_with_a_slash(nowhere: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'$"):
        resolve_credentials(environ=dict(nowhere, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="v2/creds"))


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2026-12-03T12:00:00Z", 1796299200.0),
        ("2026-12-03T12:00:00.123Z", 1796299200.0),
        ("2026-12-03T14:00:00+02:00", 1796299200.0),
        ("2026-12-03T07:00:00-0500", 1796299200.0),
        ("2026-12-03T12:00:00", 1796299200.0),
    ],
)
def test_expiration_is_read_as_iso_8601(text: str, epoch: float) -> None:
    assert parse_expiration(text) == epoch


def test_unreadable_expiration_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"^container credentials carry an unreadable Expiration 'tomorrow'$"
    ):
        parse_expiration("tomorrow")


# -- container credentials over a real socket ---------------------------------------------------

EXPIRES = 1796299200.0  # 2026-12-03T12:00:00Z


def agent_reply(key_id: str = "ASIACONTAINER1", expiration: str = "2026-12-03T12:00:00Z") -> Reply:
    # The ECS agent's shape: RoleArn first, Expiration in UTC with a Z.
    return Reply.json(
        {
            "RoleArn": "arn:aws:iam::123456789012:role/task-role",
            "AccessKeyId": key_id,
            "SecretAccessKey": CONTAINER_SECRET,
            "Token": CONTAINER_TOKEN,
            "Expiration": expiration,
        }
    )


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def container_env(server: FakeServer, nowhere: dict[str, str], **extra: str) -> dict[str, str]:
    return dict(nowhere, AWS_CONTAINER_CREDENTIALS_FULL_URI=server.url + "/v1/credentials", **extra)


def test_container_credentials_fetched_with_the_authorization_token(nowhere: dict[str, str]) -> None:
    with FakeServer() as server:
        server.add(agent_reply())
        provider = resolve_credentials(
            environ=container_env(server, nowhere, AWS_CONTAINER_AUTHORIZATION_TOKEN=AGENT_TOKEN)
        )
        assert isinstance(provider, ContainerCredentialsProvider)
        assert server.requests == []  # fetched on first use, not when resolved
        credentials = provider.get()
    assert credentials == AWSCredentials("ASIACONTAINER1", CONTAINER_SECRET, CONTAINER_TOKEN, EXPIRES)
    (request,) = server.requests
    assert (request.method, request.path) == ("GET", "/v1/credentials")
    assert request.headers["authorization"] == AGENT_TOKEN
    assert request.headers["accept"] == "application/json"


def test_token_file_beats_the_token_variable_and_is_read_on_every_fetch(
    nowhere: dict[str, str], tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-file-token\n", encoding="utf-8")
    clock = Clock(EXPIRES - 3600)
    with FakeServer() as server:
        server.add(agent_reply(), agent_reply("ASIACONTAINER2"))
        environ = container_env(server, nowhere, AWS_CONTAINER_AUTHORIZATION_TOKEN=AGENT_TOKEN,
                                AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))  # fmt: skip
        provider = resolve_credentials(environ=environ, clock=clock)
        assert isinstance(provider, ContainerCredentialsProvider)
        provider.get()
        token_file.write_text("rotated-file-token", encoding="utf-8")
        clock.now = EXPIRES - 10
        provider.get()
    assert [r.headers["authorization"] for r in server.requests] == ["first-file-token", "rotated-file-token"]


def test_container_credentials_are_cached_until_five_minutes_before_expiry(nowhere: dict[str, str]) -> None:
    clock = Clock(EXPIRES - 3600)
    with FakeServer() as server:
        server.add(agent_reply("ASIAFIRST"), agent_reply("ASIASECOND", "2026-12-03T13:00:00Z"))
        provider = ContainerCredentialsProvider(server.url + "/creds", clock=clock)
        assert provider.get().access_key_id == "ASIAFIRST"
        clock.now = EXPIRES - 301
        assert provider.get().access_key_id == "ASIAFIRST"
        assert len(server.requests) == 1
        clock.now = EXPIRES - 299
        assert provider.get().access_key_id == "ASIASECOND"
        assert provider.get().expires_at == EXPIRES + 3600
    assert len(server.requests) == 2


def test_threads_asking_at_once_share_one_fetch() -> None:
    with FakeServer(lambda request: Reply(body=agent_reply().body, delay=0.1)) as server:
        provider = ContainerCredentialsProvider(server.url + "/creds", clock=Clock(EXPIRES - 3600))
        with ThreadPoolExecutor(max_workers=16) as pool:
            keys = set(pool.map(lambda _: provider.get().access_key_id, range(16)))
    assert keys == {"ASIACONTAINER1"}
    assert len(server.requests) == 1


def test_failed_refresh_keeps_credentials_that_are_still_valid(nowhere: dict[str, str]) -> None:
    clock = Clock(EXPIRES - 200)
    with FakeServer() as server:
        server.add(agent_reply("ASIAFIRST"), Reply.json({"message": "agent busy"}, status=404))
        provider = ContainerCredentialsProvider(server.url + "/creds", clock=clock)
        assert provider.get().access_key_id == "ASIAFIRST"  # within the margin already: next get refreshes
        assert provider.get().access_key_id == "ASIAFIRST"  # the refresh got a 404: kept, 200 s left
        server.add(Reply.json({"message": "agent busy"}, status=404))
        clock.now = EXPIRES - 30
        with pytest.raises(ConfigError, match="answered 404"):
            provider.get()


def test_failed_refresh_is_tried_again_only_after_a_backoff_while_credentials_are_usable() -> None:
    clock = Clock(EXPIRES - 200)  # inside the refresh margin, outside the 60 s floor
    agent = {"up": True}

    def handler(request: RecordedRequest) -> Reply:
        if agent["up"]:
            return agent_reply("ASIASECOND", "2026-12-03T13:00:00Z")
        return Reply.json({"message": "agent busy"}, status=404)  # not retried by the fetch

    with FakeServer(handler) as server:
        server.add(agent_reply("ASIAFIRST"))
        provider = ContainerCredentialsProvider(server.url + "/creds", clock=clock)
        assert provider.get().access_key_id == "ASIAFIRST"
        agent["up"] = False
        assert [provider.get().access_key_id for _ in range(10)] == ["ASIAFIRST"] * 10
        assert len(server.requests) == 2  # one refresh tried, then the backoff
        clock.now += 14.9
        assert provider.get().access_key_id == "ASIAFIRST"
        assert len(server.requests) == 2
        clock.now += 0.2
        assert provider.get().access_key_id == "ASIAFIRST"
        assert len(server.requests) == 3  # backoff over: asked again, failed again
        agent["up"] = True
        clock.now += 15.1
        assert provider.get().access_key_id == "ASIASECOND"
        assert provider.get().access_key_id == "ASIASECOND"
        assert len(server.requests) == 4


def test_backoff_never_holds_back_a_fetch_once_credentials_are_nearly_expired() -> None:
    clock = Clock(EXPIRES - 200)
    with FakeServer(lambda request: Reply.json({"message": "agent busy"}, status=404)) as server:
        server.add(agent_reply("ASIAFIRST"))
        provider = ContainerCredentialsProvider(server.url + "/creds", clock=clock)
        provider.get()
        assert provider.get().access_key_id == "ASIAFIRST"  # failed refresh: backoff starts
        clock.now = EXPIRES - 59  # inside the 60 s floor, still inside the backoff
        for _ in range(2):
            with pytest.raises(ConfigError, match="answered 404"):
                provider.get()
    assert len(server.requests) == 4


def test_other_threads_get_the_current_credentials_while_one_refreshes() -> None:
    entered, release, answered = threading.Event(), threading.Event(), threading.Event()

    def slow_agent(request: RecordedRequest) -> Reply:
        entered.set()
        release.wait(10)  # released by the test; the timeout only keeps a broken build from hanging
        answered.set()
        return agent_reply("ASIASECOND", "2026-12-03T13:00:00Z")

    with FakeServer(slow_agent) as server:
        server.add(agent_reply("ASIAFIRST"))
        provider = ContainerCredentialsProvider(server.url + "/creds", clock=Clock(EXPIRES - 200))
        assert provider.get().access_key_id == "ASIAFIRST"
        refreshed: list[str] = []
        refresher = threading.Thread(target=lambda: refreshed.append(provider.get().access_key_id))
        refresher.start()
        assert entered.wait(10)
        during = [provider.get().access_key_id for _ in range(3)]
        agent_still_busy = not answered.is_set()
        release.set()
        refresher.join(10)
    assert during == ["ASIAFIRST"] * 3
    assert agent_still_busy  # they did not wait for the refresh
    assert refreshed == ["ASIASECOND"]
    assert len(server.requests) == 2


def test_error_reply_is_a_config_error_without_the_token(nowhere: dict[str, str]) -> None:
    def agent(request: RecordedRequest) -> Reply:
        # An agent that quotes the token it refused.
        return Reply.json(
            {"code": "AccessDenied", "message": f"bad token {request.headers['authorization']}"}, status=403
        )

    with FakeServer(agent) as server:
        provider = ContainerCredentialsProvider(server.url + "/creds", authorization_token=AGENT_TOKEN)
        with pytest.raises(ConfigError) as caught:
            provider.get()
    assert str(caught.value) == (
        f"the container credentials endpoint {server.url}/creds answered 403: "
        '{"code": "AccessDenied", "message": "bad token [REDACTED]"}'
    )
    assert AGENT_TOKEN not in repr(caught.value) + repr(provider)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=b"<html>proxy</html>"), "is not a JSON object"),
        (Reply.json({"AccessKeyId": "A", "Token": "t"}), "has no SecretAccessKey"),
        (
            Reply.json({"AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "soon"}),
            "unreadable Expiration 'soon'",
        ),
    ],
)
def test_unusable_container_reply_is_a_config_error(reply: Reply, message: str) -> None:
    with FakeServer() as server:
        server.add(reply)
        with pytest.raises(ConfigError, match=message):
            ContainerCredentialsProvider(server.url + "/creds").get()


def test_container_server_errors_are_retried(nowhere: dict[str, str]) -> None:
    with FakeServer() as server:
        server.add(Reply(status=503), agent_reply())
        assert ContainerCredentialsProvider(server.url + "/creds").get().access_key_id == "ASIACONTAINER1"
    assert len(server.requests) == 2


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_agent_is_a_connect_error() -> None:
    url = f"http://127.0.0.1:{unused_port()}/creds"
    with pytest.raises(ConnectError) as caught:
        ContainerCredentialsProvider(url, authorization_token=AGENT_TOKEN).get()
    assert caught.value.message == f"could not fetch container credentials from {url}: NewConnectionError"


def test_bedrock_signer_signs_with_container_credentials(nowhere: dict[str, str]) -> None:
    with FakeServer() as server:
        server.add(agent_reply())
        environ = container_env(server, nowhere, AWS_REGION="us-east-1")
        signer, region = bedrock_authorizer(environ=environ, clock=Clock(EXPIRES - 3600))
        request = OutgoingRequest(
            "POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", {}, b"{}", 1
        )
        headers = signer.authorize(request)
    assert region == "us-east-1"
    assert headers["X-Amz-Security-Token"] == CONTAINER_TOKEN
    assert headers["X-Amz-Date"] == "20261203T110000Z"
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=ASIACONTAINER1/20261203/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
    )
    assert {CONTAINER_SECRET, CONTAINER_TOKEN} <= set(signer.secrets())


def test_no_secret_in_reprs(nowhere: dict[str, str]) -> None:
    environ = dict(
        nowhere, AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY=ENV_SECRET, AWS_SESSION_TOKEN="tokValue99"
    )
    found = resolve_credentials(environ=environ)
    signer = aws_sigv4(service="execute-api", region="us-east-1", environ=environ)
    provider = ContainerCredentialsProvider("http://127.0.0.1:1/c", authorization_token=AGENT_TOKEN)
    text = " ".join(repr(x) + str(x) for x in (found, signer, provider))
    for secret in (ENV_SECRET, "tokValue99", AGENT_TOKEN):
        assert secret not in text


# -- named profiles and argument types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "variables", "source"),
    [
        ("typo", {}, "profile="),
        (None, {"AWS_PROFILE": "typo"}, "AWS_PROFILE"),
        (None, {"AWS_DEFAULT_PROFILE": "typo"}, "AWS_DEFAULT_PROFILE"),
    ],
)
def test_named_profile_in_neither_file_is_a_config_error_not_the_container(
    tmp_path: Path, argument: Optional[str], variables: dict[str, str], source: str
) -> None:
    credentials = write(
        tmp_path / "credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = s\n"
    )
    config = str(tmp_path / "config")
    environ = dict(
        variables,
        AWS_SHARED_CREDENTIALS_FILE=credentials,
        AWS_CONFIG_FILE=config,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/abc",
    )
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(profile=argument, environ=environ)
    assert str(caught.value) == (
        f"AWS profile 'typo' (named by {source}) is missing; looked at: "
        f"shared credentials file {credentials} (no [typo]), config file {config} (not found)"
    )


# The AWS CLI's config file shapes for IAM Identity Center, role assumption and an
# external process (AWS CLI user guide, "Configuration and credential file settings").
SSO_AND_ROLE_CONFIG = (
    "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
    "region = eu-west-1\n\n"
    "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/Ops\nsource_profile = dev\n\n"
    "[profile tool]\ncredential_process = /usr/local/bin/creds --json\n"
)


@pytest.mark.parametrize(
    ("profile", "keys"),
    [
        ("dev", "sso_account_id, sso_role_name, sso_session"),
        ("ops", "role_arn, source_profile"),
        ("tool", "credential_process"),
    ],
)
def test_profile_with_only_sso_role_or_process_settings_is_a_config_error(
    tmp_path: Path, profile: str, keys: str
) -> None:
    config = write(tmp_path / "config", SSO_AND_ROLE_CONFIG)
    environ = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": config,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
    }
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(profile=profile, environ=environ)
    assert str(caught.value) == (
        f"AWS profile {profile!r} (config file {config} [profile {profile}]) gets its credentials "
        f"through {keys}: SSO, role, credential_process and web identity profiles are not supported yet"
    )


def test_aws_profile_is_read_before_aws_default_profile(tmp_path: Path) -> None:
    # AWS CLI v2's order (botocore reads AWS_DEFAULT_PROFILE first).
    credentials = write(
        tmp_path / "credentials",
        "[a]\naws_access_key_id = AKIDPROFILEA\naws_secret_access_key = sa\n"
        "[b]\naws_access_key_id = AKIDPROFILEB\naws_secret_access_key = sb\n",
    )
    environ = {
        "AWS_PROFILE": "a",
        "AWS_DEFAULT_PROFILE": "b",
        "AWS_SHARED_CREDENTIALS_FILE": credentials,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    assert key_id(resolve_credentials(environ=environ)) == "AKIDPROFILEA"


NOT_STRINGS = [
    (resolve_credentials, {"profile": 123}, "profile= must be a non-empty string, got int"),
    (resolve_credentials, {"profile": " "}, "profile= must be a non-empty string, got an empty string"),
    (resolve_region, {"profile": ["dev"]}, "profile= must be a non-empty string, got list"),
    (
        aws_sigv4,
        {"service": "s", "region": "us-east-1", "profile": 1},
        "profile= must be a non-empty string, got int",
    ),
    (aws_sigv4, {"service": "s", "region": 5}, "region= must be a string, got int"),
    (bedrock_authorizer, {"region": b"us-east-1"}, "region= must be a string, got bytes"),
    (
        resolve_credentials,
        {"access_key_id": 1, "secret_access_key": "s"},
        "access_key_id= must be a non-empty string, got int",
    ),
    (
        resolve_credentials,
        {"access_key_id": "A", "secret_access_key": 2.0},
        "secret_access_key= must be a non-empty string, got float",
    ),
    (
        bedrock_authorizer,
        {"region": "us-east-1", "access_key_id": "A", "secret_access_key": "s", "session_token": b"t"},
        "session_token= must be a non-empty string, got bytes",
    ),
    (
        aws_sigv4,
        {"service": "s", "region": "us-east-1", "clock": 5},
        "clock= must be a callable returning epoch seconds, got int",
    ),
]


@pytest.mark.parametrize(("function", "arguments", "message"), NOT_STRINGS)
def test_arguments_of_the_wrong_type_are_config_errors(
    nowhere: dict[str, str], function: Callable[..., object], arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        function(environ=nowhere, **arguments)
    assert str(caught.value) == message


def test_environ_that_is_not_a_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=["AWS_PROFILE"])  # type: ignore[arg-type]
    assert str(caught.value) == "environ= must be a mapping of names to strings, got list"


def test_environment_secret_that_is_not_utf8_is_a_config_error(nowhere: dict[str, str]) -> None:
    # os.environ turns an undecodable byte into a lone surrogate (surrogateescape).
    environ = dict(nowhere, AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY="abc\udcffdef")
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(environ=environ)
    assert "not valid UTF-8" in str(caught.value)
    assert "abc" not in str(caught.value) + repr(caught.value)


def test_config_file_is_not_read_when_the_credentials_file_has_the_keys(tmp_path: Path) -> None:
    credentials = write(
        tmp_path / "credentials", "[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = s\n"
    )
    config = write(tmp_path / "config", "region = us-east-1\n")  # unparsable: no [section]
    environ = {"AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config}
    assert key_id(resolve_credentials(environ=environ)) == "AKIDCRED"
