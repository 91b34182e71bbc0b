"""Client plugins, re-exported by name, and the API for writing your own."""

from client_core.plugins._api import (
    NOT_HANDLED,
    ClientPlugin,
    HookOrder,
    PluginBuilder,
    create_client_plugin,
)
from client_core.plugins._default_request import DefaultRequest, DefaultRequestConfig
from client_core.plugins._plain_text import HttpPlainText, HttpPlainTextConfig
from client_core.plugins._redirect import HttpRedirect, HttpRedirectConfig
from client_core.plugins._send import HttpSend, HttpSendConfig, HttpSendPlugin
from client_core.plugins._validator import HttpCallValidator, HttpCallValidatorConfig

__all__ = [
    "NOT_HANDLED",
    "ClientPlugin",
    "DefaultRequest",
    "DefaultRequestConfig",
    "HookOrder",
    "HttpCallValidator",
    "HttpCallValidatorConfig",
    "HttpPlainText",
    "HttpPlainTextConfig",
    "HttpRedirect",
    "HttpRedirectConfig",
    "HttpSend",
    "HttpSendConfig",
    "HttpSendPlugin",
    "PluginBuilder",
    "create_client_plugin",
]
