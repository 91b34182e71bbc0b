"""Client plugins, re-exported by name, and the API for writing your own."""

from client_core.plugins._api import (
    NOT_HANDLED,
    ClientPlugin,
    HookOrder,
    PluginBuilder,
    create_client_plugin,
)
from client_core.plugins._default_request import DefaultRequest, DefaultRequestConfig
from client_core.plugins._encoding import (
    CompressedContent,
    ContentEncoding,
    ContentEncodingConfig,
    DecodingBody,
    compress,
)
from client_core.plugins._logging import (
    DEFAULT_LOGGER_NAME,
    Logging,
    LoggingConfig,
    LogLevel,
    is_sensitive_header,
)
from client_core.plugins._plain_text import HttpPlainText, HttpPlainTextConfig
from client_core.plugins._progress import (
    BodyProgress,
    BodyProgressConfig,
    ObservedBody,
    ObservedContent,
    on_download,
    on_upload,
)
from client_core.plugins._redirect import HttpRedirect, HttpRedirectConfig
from client_core.plugins._retry import (
    HttpRequestRetry,
    HttpRequestRetryConfig,
    RetryContext,
    retry,
)
from client_core.plugins._send import HttpSend, HttpSendConfig, HttpSendPlugin
from client_core.plugins._timeout import HttpTimeout, HttpTimeoutConfig
from client_core.plugins._user_agent import (
    BROWSER_USER_AGENT,
    CURL_USER_AGENT,
    DEFAULT_USER_AGENT,
    UserAgent,
    UserAgentConfig,
)
from client_core.plugins._validator import HttpCallValidator, HttpCallValidatorConfig

__all__ = [
    "BROWSER_USER_AGENT",
    "CURL_USER_AGENT",
    "DEFAULT_LOGGER_NAME",
    "DEFAULT_USER_AGENT",
    "NOT_HANDLED",
    "BodyProgress",
    "BodyProgressConfig",
    "ClientPlugin",
    "CompressedContent",
    "ContentEncoding",
    "ContentEncodingConfig",
    "DecodingBody",
    "DefaultRequest",
    "DefaultRequestConfig",
    "HookOrder",
    "HttpCallValidator",
    "HttpCallValidatorConfig",
    "HttpPlainText",
    "HttpPlainTextConfig",
    "HttpRedirect",
    "HttpRedirectConfig",
    "HttpRequestRetry",
    "HttpRequestRetryConfig",
    "HttpSend",
    "HttpSendConfig",
    "HttpSendPlugin",
    "HttpTimeout",
    "HttpTimeoutConfig",
    "LogLevel",
    "Logging",
    "LoggingConfig",
    "ObservedBody",
    "ObservedContent",
    "PluginBuilder",
    "RetryContext",
    "UserAgent",
    "UserAgentConfig",
    "compress",
    "create_client_plugin",
    "is_sensitive_header",
    "on_download",
    "on_upload",
    "retry",
]
