"""Tests for relay_lite._config against DESIGN.md sections 1 and 5: named defaults, frozen
value objects, backoff with jitter, every environment variable, clear errors for bad
values, keys kept out of reprs, and proxy selection.

Environments are always passed as dicts; ``os.environ`` is never read or written."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

import relay_lite
from relay_lite._config import (
    BACKOFF_JITTER,
    DEFAULT_BACKOFF,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RETRY_STATUSES,
    DEFAULT_TOTAL_TIMEOUT,
    ClientConfig,
    ProxySettings,
    RetryPolicy,
    Timeouts,
)
from relay_lite._errors import ConfigError

SECRET = "sk-SECRET-123"


# -- named defaults -------------------------------------------------------------------------


def test_default_constants_have_the_documented_values() -> None:
    assert DEFAULT_CONNECT_TIMEOUT == 5
    assert DEFAULT_READ_TIMEOUT == 60
    assert DEFAULT_TOTAL_TIMEOUT is None
    assert DEFAULT_MAX_RETRIES == 2
    assert DEFAULT_BACKOFF == 0.5
    assert DEFAULT_MAX_BACKOFF == 8
    assert DEFAULT_MAX_RETRY_AFTER == 60
    assert DEFAULT_RETRY_STATUSES == frozenset({408, 409, 429, 500, 502, 503, 504, 529})
    assert BACKOFF_JITTER == 0.25


def test_timeouts_defaults_equal_the_named_constants() -> None:
    timeouts = Timeouts()
    assert timeouts.connect == DEFAULT_CONNECT_TIMEOUT == 5.0
    assert timeouts.read == DEFAULT_READ_TIMEOUT == 60.0
    assert timeouts.total is DEFAULT_TOTAL_TIMEOUT is None


def test_retry_policy_defaults_equal_the_named_constants() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == DEFAULT_MAX_RETRIES == 2
    assert policy.backoff == DEFAULT_BACKOFF == 0.5
    assert policy.max_backoff == DEFAULT_MAX_BACKOFF == 8.0
    assert policy.max_retry_after == DEFAULT_MAX_RETRY_AFTER == 60.0
    assert policy.retry_statuses == frozenset({408, 409, 429, 500, 502, 503, 504, 529})
    assert isinstance(policy.retry_statuses, frozenset)


def test_timeouts_accept_ints_and_store_floats() -> None:
    timeouts = Timeouts(connect=3, read=10, total=300)
    assert (timeouts.connect, timeouts.read, timeouts.total) == (3.0, 10.0, 300.0)
    assert all(isinstance(v, float) for v in (timeouts.connect, timeouts.read, timeouts.total))


def test_timeouts_read_and_total_may_be_none() -> None:
    timeouts = Timeouts(read=None, total=None)
    assert timeouts.read is None
    assert timeouts.total is None


def test_retry_policy_accepts_zero_retries_and_converts_statuses_to_frozenset() -> None:
    policy = RetryPolicy(max_retries=0, retry_statuses=[500, 503])  # type: ignore[arg-type]
    assert policy.max_retries == 0
    assert policy.retry_statuses == frozenset({500, 503})
    assert isinstance(policy.retry_statuses, frozenset)


# -- frozen value objects -------------------------------------------------------------------


@pytest.mark.parametrize("field_name", ["connect", "read", "total"])
def test_timeouts_are_frozen(field_name: str) -> None:
    timeouts = Timeouts()
    with pytest.raises(AttributeError):
        setattr(timeouts, field_name, 1.0)


@pytest.mark.parametrize(
    "field_name", ["max_retries", "backoff", "max_backoff", "max_retry_after", "retry_statuses"]
)
def test_retry_policy_is_frozen(field_name: str) -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        setattr(policy, field_name, 1)


# -- bad values name the field --------------------------------------------------------------

BAD_SECONDS = [-1, -0.5, 0, 0.0, math.inf, math.nan, True, False, "5"]


@pytest.mark.parametrize("field_name", ["connect", "read", "total"])
@pytest.mark.parametrize("value", BAD_SECONDS, ids=repr)
def test_timeouts_reject_bad_value_naming_the_field(field_name: str, value: Any) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Timeouts(**{field_name: value})
    message = str(excinfo.value)
    assert f"Timeouts.{field_name}" in message
    assert repr(value) in message


def test_timeouts_connect_may_not_be_none() -> None:
    with pytest.raises(ConfigError, match=r"Timeouts\.connect"):
        Timeouts(connect=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 1.5, math.inf, math.nan, True, "2", None], ids=repr)
def test_retry_policy_rejects_bad_max_retries_naming_the_field(value: Any) -> None:
    with pytest.raises(ConfigError) as excinfo:
        RetryPolicy(max_retries=value)
    message = str(excinfo.value)
    assert "RetryPolicy.max_retries" in message
    assert repr(value) in message


# Zero is a legitimate backoff / cap ("do not wait"), so only negative, infinite,
# NaN, bool and string values are bad here.
@pytest.mark.parametrize("field_name", ["backoff", "max_backoff", "max_retry_after"])
@pytest.mark.parametrize("value", [-1, -0.001, math.inf, math.nan, True, "0.5", None], ids=repr)
def test_retry_policy_rejects_bad_seconds_naming_the_field(field_name: str, value: Any) -> None:
    with pytest.raises(ConfigError) as excinfo:
        RetryPolicy(**{field_name: value})
    message = str(excinfo.value)
    assert f"RetryPolicy.{field_name}" in message
    assert repr(value) in message


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, relay_lite.RelayError)
    with pytest.raises(ValueError):
        Timeouts(connect=-1)


# -- backoff --------------------------------------------------------------------------------


def _base(retry_number: int, backoff: float = 0.5, max_backoff: float = 8.0) -> float:
    return min(max_backoff, backoff * 2 ** (retry_number - 1))


@pytest.mark.parametrize(
    ("retry_number", "base"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (10, 8.0), (40, 8.0)],
)
def test_backoff_doubles_from_half_a_second_and_caps_at_eight(retry_number: int, base: float) -> None:
    assert _base(retry_number) == base
    seed = 1234 + retry_number
    expected = base * (1 - BACKOFF_JITTER * random.Random(seed).random())
    delay = RetryPolicy().backoff_delay(retry_number, random.Random(seed))
    assert delay == pytest.approx(expected, rel=1e-12)
    assert base * 0.75 <= delay <= base


@pytest.mark.parametrize("retry_number", [1, 2, 3, 4, 5, 6, 8])
def test_backoff_stays_within_jitter_bounds_over_many_draws(retry_number: int) -> None:
    policy = RetryPolicy()
    rng = random.Random(retry_number)
    base = _base(retry_number)
    delays = [policy.backoff_delay(retry_number, rng) for _ in range(2000)]
    assert all(base * (1 - 0.25) <= d <= base for d in delays)
    # the jitter really spreads the waits over the band, not one fixed value
    assert min(delays) < base * 0.80
    assert max(delays) > base * 0.95


def test_backoff_never_exceeds_eight_seconds() -> None:
    policy = RetryPolicy()
    rng = random.Random(99)
    delays = [policy.backoff_delay(n, rng) for n in range(1, 30) for _ in range(50)]
    assert max(delays) <= 8.0
    assert min(d for d in delays) >= 0.5 * 0.75


def test_backoff_without_rng_uses_the_module_random_within_bounds() -> None:
    policy = RetryPolicy()
    for _ in range(200):
        assert 1.5 <= policy.backoff_delay(3) <= 2.0


def test_backoff_follows_a_custom_policy() -> None:
    policy = RetryPolicy(backoff=1, max_backoff=3)
    rng = random.Random(5)
    for retry_number, base in [(1, 1.0), (2, 2.0), (3, 3.0), (4, 3.0)]:
        for _ in range(200):
            assert base * 0.75 <= policy.backoff_delay(retry_number, rng) <= base


# -- the environment ------------------------------------------------------------------------


def resolve(env: dict[str, str], **kwargs: Any) -> ClientConfig:
    return ClientConfig.resolve(env=env, **kwargs)


def test_empty_environment_gives_openai_defaults() -> None:
    config = resolve({})
    assert config.provider == "openai"
    assert config.protocol == "openai"
    assert config.base_url == "https://api.openai.com/v1"
    assert config.api_key is None
    assert config.timeouts == Timeouts()
    assert config.retry == RetryPolicy()
    assert config.ca_bundle is None
    assert config.log_level is None


@pytest.mark.parametrize(
    ("provider", "protocol", "base_url"),
    [
        ("openai", "openai", "https://api.openai.com/v1"),
        ("anthropic", "anthropic", "https://api.anthropic.com"),
        ("openrouter", "openai", "https://openrouter.ai/api/v1"),
        ("modelrelay", "modelrelay", "https://api.modelrelay.ai/api/v1"),
    ],
)
def test_relay_lite_provider_picks_the_preset(provider: str, protocol: str, base_url: str) -> None:
    config = resolve({"RELAY_LITE_PROVIDER": provider})
    assert config.provider == provider
    assert config.protocol == protocol
    assert config.base_url == base_url


def test_relay_lite_provider_is_case_insensitive() -> None:
    assert resolve({"RELAY_LITE_PROVIDER": " Anthropic "}).provider == "anthropic"


def test_relay_lite_api_key_is_used() -> None:
    assert resolve({"RELAY_LITE_API_KEY": "sk-env"}).api_key == "sk-env"


def test_relay_lite_base_url_is_used_without_trailing_slash() -> None:
    config = resolve({"RELAY_LITE_BASE_URL": "http://localhost:11434/v1/"})
    assert config.base_url == "http://localhost:11434/v1"


def test_relay_lite_model_is_used() -> None:
    assert resolve({"RELAY_LITE_MODEL": "gpt-4.1"}).model == "gpt-4.1"


def test_relay_lite_connect_timeout_is_used_as_float_seconds() -> None:
    timeouts = resolve({"RELAY_LITE_CONNECT_TIMEOUT": "2.5"}).timeouts
    assert timeouts == Timeouts(connect=2.5, read=60.0, total=None)


def test_relay_lite_read_timeout_is_used() -> None:
    assert resolve({"RELAY_LITE_READ_TIMEOUT": "12"}).timeouts.read == 12.0


@pytest.mark.parametrize("value", ["none", "None", "NONE"])
def test_relay_lite_read_timeout_none_means_wait_forever(value: str) -> None:
    timeouts = resolve({"RELAY_LITE_READ_TIMEOUT": value}).timeouts
    assert timeouts.read is None
    assert timeouts.connect == 5.0


def test_relay_lite_timeout_sets_the_total_deadline() -> None:
    timeouts = resolve({"RELAY_LITE_TIMEOUT": "300"}).timeouts
    assert timeouts == Timeouts(connect=5.0, read=60.0, total=300.0)


def test_relay_lite_max_retries_is_used() -> None:
    assert resolve({"RELAY_LITE_MAX_RETRIES": "5"}).retry.max_retries == 5
    assert resolve({"RELAY_LITE_MAX_RETRIES": "0"}).retry.max_retries == 0


def test_relay_lite_backoff_is_used() -> None:
    assert resolve({"RELAY_LITE_BACKOFF": "0.25"}).retry.backoff == 0.25


def test_relay_lite_max_backoff_is_used() -> None:
    assert resolve({"RELAY_LITE_MAX_BACKOFF": "30"}).retry.max_backoff == 30.0


def test_relay_lite_max_retry_after_is_used() -> None:
    assert resolve({"RELAY_LITE_MAX_RETRY_AFTER": "120"}).retry.max_retry_after == 120.0


def test_retry_variables_leave_other_fields_at_defaults() -> None:
    retry = resolve({"RELAY_LITE_BACKOFF": "1"}).retry
    assert retry == RetryPolicy(backoff=1.0)


def test_relay_lite_ca_bundle_existing_file_is_used(tmp_path: Path) -> None:
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert resolve({"RELAY_LITE_CA_BUNDLE": str(bundle)}).ca_bundle == str(bundle)


def test_relay_lite_ca_bundle_missing_file_is_rejected(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(ConfigError) as excinfo:
        resolve({"RELAY_LITE_CA_BUNDLE": missing})
    assert "RELAY_LITE_CA_BUNDLE" in str(excinfo.value)
    assert missing in str(excinfo.value)


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error", "DEBUG"])
def test_relay_lite_log_is_used(level: str) -> None:
    assert resolve({"RELAY_LITE_LOG": level}).log_level == level.lower()


def test_empty_variables_are_ignored() -> None:
    config = resolve(
        {
            "RELAY_LITE_PROVIDER": "",
            "RELAY_LITE_CONNECT_TIMEOUT": "",
            "RELAY_LITE_TIMEOUT": " ",
            "RELAY_LITE_MAX_RETRIES": "",
            "RELAY_LITE_BACKOFF": "",
            "RELAY_LITE_LOG": "",
        }
    )
    assert config.provider == "openai"
    assert config.timeouts == Timeouts()
    assert config.retry == RetryPolicy()
    assert config.log_level is None


@pytest.mark.parametrize(
    ("provider", "key_env"),
    [
        ("openai", "OPENAI_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
        ("openrouter", "OPENROUTER_API_KEY"),
        ("modelrelay", "MODELRELAY_API_KEY"),
    ],
)
def test_provider_key_variable_is_used_for_its_provider(provider: str, key_env: str) -> None:
    config = resolve({key_env: f"key-for-{provider}"}, provider=provider)
    assert config.api_key == f"key-for-{provider}"


def test_provider_key_variable_is_not_used_for_another_provider() -> None:
    config = resolve({"OPENAI_API_KEY": "sk-openai"}, provider="anthropic")
    assert config.provider == "anthropic"
    assert config.api_key is None


@pytest.mark.parametrize(
    ("key_env", "provider"),
    [
        ("OPENAI_API_KEY", "openai"),
        ("ANTHROPIC_API_KEY", "anthropic"),
        ("OPENROUTER_API_KEY", "openrouter"),
        ("MODELRELAY_API_KEY", "modelrelay"),
    ],
)
def test_provider_is_inferred_from_the_key_that_is_set(key_env: str, provider: str) -> None:
    config = resolve({key_env: "the-key"})
    assert config.provider == provider
    assert config.api_key == "the-key"


def test_provider_inference_prefers_openai_then_anthropic_then_openrouter() -> None:
    assert resolve({"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o"}).provider == "openai"
    assert resolve({"OPENROUTER_API_KEY": "r", "ANTHROPIC_API_KEY": "a"}).provider == "anthropic"
    assert resolve({"MODELRELAY_API_KEY": "m", "OPENROUTER_API_KEY": "r"}).provider == "openrouter"


def test_relay_lite_provider_beats_key_inference() -> None:
    config = resolve({"RELAY_LITE_PROVIDER": "openrouter", "OPENAI_API_KEY": "o"})
    assert config.provider == "openrouter"
    assert config.api_key is None


def test_relay_lite_api_key_beats_the_provider_key() -> None:
    config = resolve({"RELAY_LITE_API_KEY": "sk-generic", "OPENAI_API_KEY": "sk-openai"})
    assert config.api_key == "sk-generic"


def test_explicit_arguments_beat_the_environment(tmp_path: Path) -> None:
    env_bundle = tmp_path / "env.pem"
    arg_bundle = tmp_path / "arg.pem"
    env_bundle.write_text("x")
    arg_bundle.write_text("x")
    env = {
        "RELAY_LITE_PROVIDER": "anthropic",
        "RELAY_LITE_API_KEY": "sk-env",
        "OPENAI_API_KEY": "sk-openai-env",
        "RELAY_LITE_BASE_URL": "http://env.example/v1",
        "RELAY_LITE_MODEL": "env-model",
        "RELAY_LITE_CONNECT_TIMEOUT": "1",
        "RELAY_LITE_READ_TIMEOUT": "2",
        "RELAY_LITE_TIMEOUT": "3",
        "RELAY_LITE_MAX_RETRIES": "9",
        "RELAY_LITE_BACKOFF": "4",
        "RELAY_LITE_CA_BUNDLE": str(env_bundle),
    }
    config = resolve(
        env,
        provider="openai",
        api_key="sk-arg",
        base_url="https://arg.example/v1",
        model="arg-model",
        timeouts=Timeouts(connect=7, read=8, total=9),
        retry=RetryPolicy(max_retries=1),
        ca_bundle=str(arg_bundle),
    )
    assert config.provider == "openai"
    assert config.api_key == "sk-arg"
    assert config.base_url == "https://arg.example/v1"
    assert config.model == "arg-model"
    assert config.timeouts == Timeouts(connect=7, read=8, total=9)
    assert config.retry == RetryPolicy(max_retries=1)
    assert config.ca_bundle == str(arg_bundle)


def test_explicit_provider_ignores_a_bad_relay_lite_provider() -> None:
    assert resolve({"RELAY_LITE_PROVIDER": "nope"}, provider="anthropic").provider == "anthropic"


# -- bad environment values: name AND value in the message ----------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RELAY_LITE_READ_TIMEOUT", "abc"),
        ("RELAY_LITE_READ_TIMEOUT", "0"),
        ("RELAY_LITE_CONNECT_TIMEOUT", "-1"),
        ("RELAY_LITE_CONNECT_TIMEOUT", "none"),
        ("RELAY_LITE_CONNECT_TIMEOUT", "nan"),
        ("RELAY_LITE_TIMEOUT", "0"),
        ("RELAY_LITE_TIMEOUT", "inf"),
        ("RELAY_LITE_MAX_RETRIES", "two"),
        ("RELAY_LITE_MAX_RETRIES", "-1"),
        ("RELAY_LITE_MAX_RETRIES", "1.5"),
        ("RELAY_LITE_BACKOFF", "x"),
        ("RELAY_LITE_BACKOFF", "nan"),
        ("RELAY_LITE_MAX_BACKOFF", "-2"),
        ("RELAY_LITE_MAX_RETRY_AFTER", "inf"),
        ("RELAY_LITE_PROVIDER", "nope"),
        ("RELAY_LITE_BASE_URL", "api.openai.com/v1"),
        ("RELAY_LITE_BASE_URL", "ftp://files.example.com/v1"),
        ("RELAY_LITE_LOG", "loud"),
    ],
)
def test_bad_environment_value_is_rejected_naming_variable_and_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        resolve({name: value})
    message = str(excinfo.value)
    assert name in message
    assert value in message
    assert isinstance(excinfo.value, ValueError)


def test_relay_lite_max_retries_non_ascii_digit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="RELAY_LITE_MAX_RETRIES"):
        resolve({"RELAY_LITE_MAX_RETRIES": "²"})


def test_bad_explicit_base_url_is_rejected_naming_the_argument() -> None:
    with pytest.raises(ConfigError) as excinfo:
        resolve({}, base_url="localhost:8080")
    assert "base_url" in str(excinfo.value)
    assert "localhost:8080" in str(excinfo.value)


def test_bad_explicit_provider_is_rejected_naming_it() -> None:
    with pytest.raises(ConfigError) as excinfo:
        resolve({}, provider="bogus")
    assert "provider" in str(excinfo.value)
    assert "bogus" in str(excinfo.value)


# -- the key never shows -------------------------------------------------------------------


def test_api_key_is_not_in_client_config_repr() -> None:
    config = resolve({}, api_key=SECRET)
    assert config.api_key == SECRET
    assert SECRET not in repr(config)
    assert "SECRET" not in repr(config)


def test_api_key_from_environment_is_not_in_client_config_repr() -> None:
    config = resolve({"OPENAI_API_KEY": SECRET})
    assert config.api_key == SECRET
    assert "SECRET" not in repr(config)


def test_api_key_is_not_in_client_repr() -> None:
    client = relay_lite.Client(provider="compatible", base_url="http://127.0.0.1:9", api_key=SECRET, env={})
    try:
        assert client.config.api_key == SECRET
        assert "SECRET" not in repr(client)
        assert "SECRET" not in str(client)
        assert "SECRET" not in repr(client.config)
        assert "http://127.0.0.1:9" in repr(client)
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()


def test_client_without_key_names_the_provider_key_variable() -> None:
    with pytest.raises(ConfigError) as excinfo:
        relay_lite.Client(provider="openai", env={})
    assert "OPENAI_API_KEY" in str(excinfo.value)


def test_anthropic_client_without_key_names_anthropic_api_key() -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        relay_lite.Client(provider="anthropic", env={})


# -- proxies --------------------------------------------------------------------------------


def test_https_proxy_is_used_for_https() -> None:
    proxies = ProxySettings.from_env({"HTTPS_PROXY": "http://proxy.corp:3128"})
    assert proxies.proxy_for("https://api.openai.com/v1") == "http://proxy.corp:3128"
    assert proxies.proxy_for("http://api.openai.com/v1") is None


def test_http_proxy_is_used_for_http() -> None:
    proxies = ProxySettings.from_env({"HTTP_PROXY": "http://plain.corp:8080"})
    assert proxies.proxy_for("http://localhost:11434/v1") == "http://plain.corp:8080"
    assert proxies.proxy_for("https://api.openai.com/v1") is None


def test_both_proxies_each_for_their_scheme() -> None:
    proxies = ProxySettings.from_env(
        {"HTTPS_PROXY": "http://secure.corp:1", "HTTP_PROXY": "http://plain.corp:2"}
    )
    assert proxies.proxy_for("https://a.example/") == "http://secure.corp:1"
    assert proxies.proxy_for("http://a.example/") == "http://plain.corp:2"


def test_lower_case_proxy_variables_are_honoured() -> None:
    proxies = ProxySettings.from_env(
        {
            "https_proxy": "http://secure.corp:1",
            "http_proxy": "http://plain.corp:2",
            "no_proxy": "internal.corp",
        }
    )
    assert proxies.proxy_for("https://api.openai.com/") == "http://secure.corp:1"
    assert proxies.proxy_for("http://api.openai.com/") == "http://plain.corp:2"
    assert proxies.proxy_for("https://internal.corp/") is None


def test_lower_case_proxy_variable_wins_over_upper_case() -> None:
    proxies = ProxySettings.from_env({"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"})
    assert proxies.proxy_for("https://api.openai.com/") == "http://lower:1"


def test_no_proxy_variables_means_direct() -> None:
    proxies = ProxySettings.from_env({})
    assert proxies.proxy_for("https://api.openai.com/") is None
    assert proxies.proxy_for("http://api.openai.com/") is None


def test_no_proxy_exact_host_is_direct() -> None:
    proxies = ProxySettings.from_env(
        {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "localhost, api.internal.corp"}
    )
    assert proxies.proxy_for("https://api.internal.corp/v1") is None
    assert proxies.proxy_for("https://localhost:8443/v1") is None
    assert proxies.proxy_for("https://api.openai.com/v1") == "http://p:1"


def test_no_proxy_host_match_ignores_case() -> None:
    proxies = ProxySettings.from_env({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "Internal.CORP"})
    assert proxies.proxy_for("https://INTERNAL.corp/") is None


@pytest.mark.parametrize("entry", [".example.com", "example.com"])
def test_no_proxy_domain_suffix_matches_subdomains_only_on_a_dot(entry: str) -> None:
    proxies = ProxySettings.from_env({"HTTPS_PROXY": "http://p:1", "NO_PROXY": entry})
    assert proxies.proxy_for("https://sub.example.com/") is None
    assert proxies.proxy_for("https://deep.sub.example.com/") is None
    assert proxies.proxy_for("https://badexample.com/") == "http://p:1"
    assert proxies.proxy_for("https://example.com.evil.net/") == "http://p:1"


def test_no_proxy_star_disables_all_proxies() -> None:
    proxies = ProxySettings.from_env(
        {"HTTPS_PROXY": "http://p:1", "HTTP_PROXY": "http://p:2", "NO_PROXY": "*"}
    )
    assert proxies.proxy_for("https://api.openai.com/") is None
    assert proxies.proxy_for("http://anything.example/") is None


def test_no_proxy_host_port_entry_matches_that_host() -> None:
    proxies = ProxySettings.from_env(
        {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.corp,internal.corp:8443"}
    )
    assert proxies.proxy_for("https://internal.corp:8443/v1") is None
    assert proxies.proxy_for("https://api.openai.com/v1") == "http://p:1"


@pytest.mark.parametrize(
    ("variable", "url"),
    [("HTTPS_PROXY", "https://api.openai.com/"), ("HTTP_PROXY", "http://api.openai.com/")],
)
def test_scheme_less_proxy_gets_http_prepended(variable: str, url: str) -> None:
    proxies = ProxySettings.from_env({variable: "proxy.corp:3128"})
    assert proxies.proxy_for(url) == "http://proxy.corp:3128"


def test_proxy_with_scheme_is_kept_as_given() -> None:
    proxies = ProxySettings.from_env({"HTTPS_PROXY": "https://user@secure-proxy.corp:443"})
    assert proxies.proxy_for("https://api.openai.com/") == "https://user@secure-proxy.corp:443"
