"""AWS SigV4 signing (relay_lite._sigv4), sans-I/O.

The expected ``Authorization`` values are facts from AWS's published signing test suite
("aws-sig-v4-test-suite", 2015-08-30 edition), as copied into botocore's
tests/unit/auth/aws4_testsuite/: access key AKIDEXAMPLE, the example secret below,
region us-east-1, service "service", time 20150830T123600Z. Each case's request is
written here by hand from its ``.req`` file; S3-only rules are not used.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

import pytest

from relay_lite import ConfigError
from relay_lite._sigv4 import (
    AWSCredentials,
    SigV4Authorizer,
    amz_date,
    canonical_request,
    sign_headers,
    signing_key,
    wire_url,
)
from relay_lite._transport import OutgoingRequest

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime(2015, 8, 30, 12, 36, 0, tzinfo=timezone.utc)
SUITE_CREDENTIALS = AWSCredentials(ACCESS_KEY, SECRET)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# The session token of the suite's post-sts-token cases.
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSP"
    "fIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYw"
    "T7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqK"
    "mlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)
# The session token of the suite's get-vanilla-with-session-token case.
VANILLA_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
HOST = "https://example.amazonaws.com"
SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"


def suite_sign(
    method: str,
    path: str,
    headers: Optional[dict[str, str]] = None,
    body: bytes = b"",
    credentials: AWSCredentials = SUITE_CREDENTIALS,
) -> dict[str, str]:
    return sign_headers(
        method,
        HOST + path,
        headers or {},
        body,
        credentials,
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
    )


# (case name, method, path as the .req file writes it, extra headers, body, signed headers, signature)
SUITE_CASES = [
    ("get-vanilla", "GET", "/", {}, b"", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query", "GET", "/", {}, b"", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-empty-query-key", "GET", "/?Param1=value1", {}, b"", "host;x-amz-date",
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
    ("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", {}, b"", "host;x-amz-date",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-vanilla-query-order-key", "GET", "/?Param1=value2&Param1=Value1", {}, b"", "host;x-amz-date",
     "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
    ("get-vanilla-query-order-value", "GET", "/?Param1=value2&Param1=value1", {}, b"", "host;x-amz-date",
     "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
    ("get-vanilla-query-order-encoded", "GET", "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1", {}, b"",
     "host;x-amz-date", "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
    ("get-vanilla-query-unreserved", "GET",
     "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
     "=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", {}, b"", "host;x-amz-date",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    ("get-vanilla-utf8-query", "GET", "/?\u1234=bar", {}, b"", "host;x-amz-date",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    ("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", {}, b"",
     "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    ("get-utf8", "GET", "/\u1234", {}, b"", "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    ("get-header-value-trim", "GET", "/", {"My-Header1": " value1", "My-Header2": ' "a   b   c"'}, b"",
     "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ("post-vanilla", "POST", "/", {}, b"", "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("post-vanilla-query", "POST", "/?Param1=value1", {}, b"", "host;x-amz-date",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    ("post-header-key-case", "POST", "/", {}, b"", "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("post-header-key-sort", "POST", "/", {"My-Header1": "value1"}, b"", "host;my-header1;x-amz-date",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
    ("post-header-value-case", "POST", "/", {"My-Header1": "VALUE1"}, b"", "host;my-header1;x-amz-date",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    ("post-x-www-form-urlencoded", "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
     b"Param1=value1", "content-type;host;x-amz-date",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ("post-x-www-form-urlencoded-parameters", "POST", "/",
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf8"}, b"Param1=value1",
     "content-type;host;x-amz-date", "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"),
    # normalize-path/: the rules of every service but S3.
    ("get-relative", "GET", "/example/..", {}, b"", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-relative-relative", "GET", "/example1/example2/../..", {}, b"", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-slash", "GET", "//", {}, b"", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-slash-dot-slash", "GET", "/./", {}, b"", "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-slash-pointless-dot", "GET", "/./example", {}, b"", "host;x-amz-date",
     "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
    ("get-slashes", "GET", "//example//", {}, b"", "host;x-amz-date",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    ("get-space", "GET", "/example space/", {}, b"", "host;x-amz-date",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    ("get-special-character", "GET", "/example/$delete", {}, b"", "host;x-amz-date",
     "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "signed", "signature"),
    [case[1:] for case in SUITE_CASES],
    ids=[case[0] for case in SUITE_CASES],
)
def test_signature_matches_aws_test_suite(
    method: str, path: str, headers: dict[str, str], body: bytes, signed: str, signature: str
) -> None:
    added = suite_sign(method, path, headers, body)
    assert added == {
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders={signed}, Signature={signature}",
    }


def test_session_token_is_sent_and_signed_as_in_post_sts_header_before() -> None:
    added = suite_sign("POST", "/", credentials=AWSCredentials(ACCESS_KEY, SECRET, STS_TOKEN))
    assert added == {
        "X-Amz-Date": "20150830T123600Z",
        "X-Amz-Security-Token": STS_TOKEN,
        "Authorization": f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date;x-amz-security-token, "
        "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    }


def test_session_token_signed_as_in_get_vanilla_with_session_token() -> None:
    added = suite_sign("GET", "/", credentials=AWSCredentials(ACCESS_KEY, SECRET, VANILLA_TOKEN))
    assert added["X-Amz-Security-Token"] == VANILLA_TOKEN
    assert added["Authorization"] == (
        f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date;x-amz-security-token, "
        "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
    )


def test_canonical_request_matches_the_suite_creq_for_an_encoded_query() -> None:
    # get-vanilla-query-order-encoded.creq, byte for byte.
    text, signed = canonical_request(
        "GET",
        HOST + "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        {"X-Amz-Date": "20150830T123600Z"},
        EMPTY_SHA256,
    )
    assert text == (
        "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n"
        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        f"host;x-amz-date\n{EMPTY_SHA256}"
    )
    assert signed == "host;x-amz-date"


def test_signing_key_matches_aws_documented_derivation() -> None:
    # AWS General Reference's "derive a signing key" example (secret above, 20150830,
    # us-east-1, iam): c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9.
    key = signing_key(SECRET, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


# -- path encoding of Bedrock-style model ids ------------------------------------------------


def canonical_uri(url: str) -> str:
    return canonical_request("POST", url, {}, EMPTY_SHA256)[0].split("\n")[1]


def test_encoded_colon_in_model_id_is_encoded_again() -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3%3A0/converse"
    assert canonical_uri(url) == "/model/anthropic.claude-3%253A0/converse"


def test_encoded_space_in_model_id_is_encoded_again() -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/my%20model/converse-stream"
    assert canonical_uri(url) == "/model/my%2520model/converse-stream"


def test_encoded_slash_of_an_arn_stays_inside_its_segment() -> None:
    url = (
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
        "arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.meta.llama3/converse"
    )
    assert canonical_uri(url) == (
        "/model/arn%253Aaws%253Abedrock%253Aus-west-2%253A123456789012%253A"
        "inference-profile%252Fus.meta.llama3/converse"
    )


# Signatures botocore 1.44.8's SigV4Auth("bedrock", "us-east-1") gives the same requests
# (suite keys and time, session token "session-token-example", Content-Type
# application/json, body {"messages":[]}): an independent reference for the path rules.
BOTOCORE_BEDROCK_CASES = [
    (
        "/model/anthropic.claude-3%3A0/converse",
        "5bdcc444a368fd07275c2939d9efb07d4d88d67e90c1b8a38981cb5f1632928e",
    ),
    ("/model/my%20model/converse-stream", "d98975f0ff87bf4db2695b18e6df35c4983d8a223933481fb84762e7ac9141a3"),
]


@pytest.mark.parametrize(("path", "signature"), BOTOCORE_BEDROCK_CASES, ids=["colon", "space"])
def test_bedrock_model_id_path_signs_as_botocore_does(path: str, signature: str) -> None:
    added = sign_headers(
        "POST",
        "https://bedrock-runtime.us-east-1.amazonaws.com" + path,
        {"Content-Type": "application/json"},
        b'{"messages":[]}',
        AWSCredentials(ACCESS_KEY, SECRET, "session-token-example"),
        region="us-east-1",
        service="bedrock",
        now=SUITE_TIME,
    )
    assert added["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature={signature}"
    )


def test_double_encoding_changes_the_signature() -> None:
    once = suite_sign("POST", "/model/a%3Ab/converse")["Authorization"]
    raw = suite_sign("POST", "/model/a:b/converse")["Authorization"]
    assert once != raw


def test_empty_path_signs_as_slash() -> None:
    assert canonical_uri("https://example.amazonaws.com") == "/"
    assert suite_sign("GET", "") == suite_sign("GET", "/")


def test_plus_in_query_is_a_space() -> None:
    text = canonical_request("GET", HOST + "/?q=a+b&r=c%2Bd", {}, EMPTY_SHA256)[0]
    assert text.split("\n")[2] == "q=a%20b&r=c%2Bd"


# -- headers ----------------------------------------------------------------------------------


def test_host_keeps_a_non_default_port() -> None:
    text, _ = canonical_request("GET", "http://127.0.0.1:8080/x", {}, EMPTY_SHA256)
    assert "\nhost:127.0.0.1:8080\n" in text


@pytest.mark.parametrize("url", ["https://Example.AmazonAWS.com:443/", "http://example.amazonaws.com:80/"])
def test_host_drops_the_default_port_and_lower_cases(url: str) -> None:
    text, _ = canonical_request("GET", url, {}, EMPTY_SHA256)
    assert "\nhost:example.amazonaws.com\n" in text


def test_host_header_given_wins_over_the_url() -> None:
    text, _ = canonical_request("GET", "http://127.0.0.1:9/x", {"Host": "api.example.com"}, EMPTY_SHA256)
    assert "\nhost:api.example.com\n" in text


def test_user_agent_and_hop_by_hop_headers_are_not_signed() -> None:
    headers = {"User-Agent": "relay-lite/1", "Connection": "keep-alive", "Accept": "application/json"}
    _, signed = canonical_request("GET", HOST + "/", headers, EMPTY_SHA256)
    assert signed == "accept;host"


def test_headers_the_signer_sets_replace_the_request_ones() -> None:
    added = suite_sign("GET", "/", {"x-amz-date": "19990101T000000Z", "X-Amz-Security-Token": "stale-token"})
    assert added == suite_sign("GET", "/")


def test_content_sha256_header_is_sent_and_signed_when_asked() -> None:
    added = sign_headers(
        "POST", HOST + "/", {}, b"{}", SUITE_CREDENTIALS,
        region="us-east-1", service="service", now=SUITE_TIME, content_sha256_header=True,
    )  # fmt: skip
    assert added["X-Amz-Content-Sha256"] == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date," in added["Authorization"]


def test_body_bytes_change_the_signature() -> None:
    assert suite_sign("POST", "/", body=b"a") != suite_sign("POST", "/", body=b"b")


def test_timestamp_is_utc_whatever_the_zone_given() -> None:
    eastern = SUITE_TIME.astimezone(timezone(timedelta(hours=-4)))
    assert amz_date(eastern) == "20150830T123600Z"
    assert amz_date(datetime(2015, 8, 30, 12, 36)) == "20150830T123600Z"


def test_url_without_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="without a host"):
        sign_headers("GET", "/relative", {}, b"", SUITE_CREDENTIALS, region="r", service="s", now=SUITE_TIME)


# -- credentials ------------------------------------------------------------------------------


def test_credentials_repr_shows_only_the_key_id_tail() -> None:
    credentials = AWSCredentials(ACCESS_KEY, SECRET, STS_TOKEN, expires_at=1440938160.0)
    for text in (repr(credentials), str(credentials), f"{credentials}"):
        assert text == "AWSCredentials(access_key_id='…MPLE', session_token=set, expires_at=1440938160.0)"


@pytest.mark.parametrize(
    ("key_id", "secret", "message"),
    [("", SECRET, "access_key_id"), (ACCESS_KEY, "  ", "secret_access_key"), (None, SECRET, "access_key_id")],
)
def test_credentials_missing_a_part_are_a_config_error(key_id: object, secret: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"need a non-empty {message}$"):
        AWSCredentials(key_id, secret)  # type: ignore[arg-type]


def test_credentials_expire_within_a_margin() -> None:
    credentials = AWSCredentials(ACCESS_KEY, SECRET, expires_at=1000.0)
    assert credentials.expires_within(300, now=701.0) is True
    assert credentials.expires_within(300, now=699.0) is False
    assert AWSCredentials(ACCESS_KEY, SECRET).expires_within(300, now=1e12) is False


# -- the authorizer ---------------------------------------------------------------------------


class StepClock:
    """Epoch seconds from the suite's time, one minute later at each reading."""

    def __init__(self) -> None:
        self.now = SUITE_TIME.timestamp()

    def __call__(self) -> float:
        value = self.now
        self.now += 60
        return value


def outgoing(attempt: int = 1) -> OutgoingRequest:
    return OutgoingRequest("GET", HOST + "/", {}, b"", attempt)


def test_authorizer_signs_like_sign_headers_at_the_clock_time() -> None:
    signer = SigV4Authorizer("us-east-1", "service", SUITE_CREDENTIALS, clock=StepClock())
    assert signer.authorize(outgoing()) == suite_sign("GET", "/")


def test_authorizer_reads_the_clock_on_every_attempt() -> None:
    signer = SigV4Authorizer("us-east-1", "service", SUITE_CREDENTIALS, clock=StepClock())
    first, second = signer.authorize(outgoing(1)), signer.authorize(outgoing(2))
    assert (first["X-Amz-Date"], second["X-Amz-Date"]) == ("20150830T123600Z", "20150830T123700Z")
    assert first["Authorization"] != second["Authorization"]


class CountingProvider:
    def __init__(self, *credentials: AWSCredentials) -> None:
        self.queue = list(credentials)
        self.calls = 0

    def get(self) -> AWSCredentials:
        self.calls += 1
        return self.queue[min(self.calls, len(self.queue)) - 1]


def test_authorizer_asks_the_provider_on_each_attempt_and_remembers_rotated_secrets() -> None:
    rotated = AWSCredentials("AKIDROTATED", "second-secret-value", "second-token-value")
    provider = CountingProvider(AWSCredentials(ACCESS_KEY, SECRET), rotated)
    signer = SigV4Authorizer("us-east-1", "service", provider, clock=StepClock())
    signer.authorize(outgoing(1))
    second = signer.authorize(outgoing(2))
    assert provider.calls == 2
    assert "Credential=AKIDROTATED/" in second["Authorization"]
    assert second["X-Amz-Security-Token"] == "second-token-value"
    assert {SECRET, "second-secret-value", "second-token-value"} <= set(signer.secrets())


def test_authorizer_secrets_include_the_signatures_it_issued() -> None:
    signer = SigV4Authorizer("us-east-1", "service", AWSCredentials(ACCESS_KEY, SECRET, STS_TOKEN))
    signature = signer.authorize(outgoing())["Authorization"].rpartition("Signature=")[2]
    assert set(signer.secrets()) == {SECRET, STS_TOKEN, signature}


def test_authorizer_repr_names_no_secret() -> None:
    signer = SigV4Authorizer("us-east-1", "bedrock", AWSCredentials(ACCESS_KEY, SECRET, STS_TOKEN))
    assert repr(signer) == "SigV4Authorizer(region='us-east-1', service='bedrock')"


class BrokenProvider:
    def get(self) -> AWSCredentials:
        raise RuntimeError(f"could not read {SECRET}")


def test_failing_provider_is_a_config_error_without_its_message() -> None:
    signer = SigV4Authorizer("us-east-1", "service", BrokenProvider())
    with pytest.raises(ConfigError) as caught:
        signer.authorize(outgoing())
    assert str(caught.value) == "the AWS credentials provider BrokenProvider failed: RuntimeError"


def test_provider_returning_something_else_is_a_config_error() -> None:
    class Wrong:
        def get(self) -> object:
            return {"AccessKeyId": ACCESS_KEY}

    with pytest.raises(ConfigError, match="must return AWSCredentials, got dict$"):
        SigV4Authorizer("us-east-1", "service", Wrong()).authorize(outgoing())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("region", "service", "credentials", "message"),
    [
        ("", "s", SUITE_CREDENTIALS, "non-empty region"),
        ("r", " ", SUITE_CREDENTIALS, "non-empty service"),
        ("r", "s", "AKID:secret", "got str"),
    ],
)
def test_authorizer_arguments_are_checked(
    region: str, service: str, credentials: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        SigV4Authorizer(region, service, credentials)  # type: ignore[arg-type]


# -- the URL as urllib3 sends it ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("/v1/a%3ab", "/v1/a%3Ab"),  # escapes upper-cased
        ("/v1/a b", "/v1/a%20b"),  # characters a URL may not hold: encoded as UTF-8
        ("/v1/caf\u00e9", "/v1/caf%C3%A9"),
        ("/v1/x|y{z}", "/v1/x%7Cy%7Bz%7D"),
        ("/v1/./a/../b", "/v1/b"),  # dot segments removed
        ("/v1/q?a=b c&d=%7e", "/v1/q?a=b%20c&d=%7E"),
        ("/v1/already%20sent", "/v1/already%20sent"),  # the wire form is kept as it is
    ],
)
def test_wire_url_is_what_urllib3_puts_on_the_request_line(given: str, sent: str) -> None:
    # Both urllib3 1.26 and 2.x write these request targets (parse_url's normalisation).
    assert wire_url(HOST + given) == HOST + sent


@pytest.mark.parametrize(
    ("given", "sent"),
    [("/v1/a b", "/v1/a%20b"), ("/v1/a%3ab", "/v1/a%3Ab"), ("/v1/caf\u00e9", "/v1/caf%C3%A9")],
)
def test_authorizer_signs_the_path_urllib3_sends(given: str, sent: str) -> None:
    signer = SigV4Authorizer("us-east-1", "service", SUITE_CREDENTIALS, clock=StepClock())
    added = signer.authorize(OutgoingRequest("POST", HOST + given, {}, b"", 1))
    assert added == suite_sign("POST", sent)
    assert canonical_uri(HOST + sent) == sent.replace("%", "%25")  # then encoded once more


def test_query_escapes_that_are_not_utf8_are_kept_as_bytes() -> None:
    # The service decodes %FF to the byte 0xFF and encodes it back: never U+FFFD.
    text = canonical_request("GET", HOST + "/?a=%FF&b=%e9t%E9&c=%C3%A9", {}, EMPTY_SHA256)[0]
    assert text.split("\n")[2] == "a=%FF&b=%E9t%E9&c=%C3%A9"


def test_lone_surrogates_in_path_and_query_sign_as_urllib3_encodes_them() -> None:
    # os.environ-style surrogate escapes: urllib3 sends them as %ED%B3%BF, no error.
    text = canonical_request("GET", HOST + "/p\udcff?q=\udcff", {}, EMPTY_SHA256)[0]
    assert text.split("\n")[1:3] == ["/p%ED%B3%BF", "q=%ED%B3%BF"]


def test_secret_that_cannot_be_utf8_is_a_config_error_without_the_value() -> None:
    for arguments in (
        (ACCESS_KEY, "abc\udcffdef"),
        ("AKID\udcff", SECRET),
        (ACCESS_KEY, SECRET, "tok\udcff"),
    ):
        with pytest.raises(ConfigError) as caught:
            AWSCredentials(*arguments)
        assert caught.value.__context__ is None
        assert "\udcff" not in str(caught.value) + repr(caught.value)
    assert str(caught.value) == (
        "the AWS session_token holds characters that are not valid UTF-8 "
        "(bytes the environment or file could not decode?)"
    )


def test_authorizer_remembers_the_last_256_signatures_for_scrubbing() -> None:
    signer = SigV4Authorizer("us-east-1", "service", SUITE_CREDENTIALS, clock=StepClock())
    signatures = [
        signer.authorize(OutgoingRequest("POST", HOST + "/", {}, str(n).encode(), 1))["Authorization"][-64:]
        for n in range(257)
    ]
    remembered = set(signer.secrets())
    assert signatures[0] not in remembered  # bounded: the oldest is forgotten
    assert set(signatures[1:]) <= remembered
    assert len(signer.secrets()) == 1 + 256


WRONG: Any = 1  # a value of the wrong type for any argument below


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: SigV4Authorizer("r", "s", SUITE_CREDENTIALS, clock=WRONG), "clock must be a callable"),
        (
            lambda: sign_headers(
                "GET", HOST, {}, WRONG, SUITE_CREDENTIALS, region="r", service="s", now=SUITE_TIME
            ),
            "needs the body as bytes, got int",
        ),
        (
            lambda: sign_headers(
                "GET", HOST, {}, b"", SUITE_CREDENTIALS, region=WRONG, service="s", now=SUITE_TIME
            ),
            "needs a region name",
        ),
        (lambda: canonical_request("GET", WRONG, {}, EMPTY_SHA256), "method and the URL as strings"),
    ],
)
def test_signer_arguments_of_the_wrong_type_are_config_errors(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        call()
