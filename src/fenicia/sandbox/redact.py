"""Keeps the demo's secrets out of the access log.

TikTok Shop's token endpoint takes the app secret and the refresh token in its query string. Talking to
the real TikTok, that URL never reaches our logs; in the demo the simulator is served by Fenicia itself,
so the server's access log would print them. This filter masks such values in access-log lines while
the demo runs.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
SECRET_PARAMS = re.compile(r"(?<=[?&])(app_secret|refresh_token|auth_code|access_token|client_secret|code)=[^&\s]*")


def redact(text: str) -> str:
    return SECRET_PARAMS.sub(lambda match: f"{match.group(1)}=***", text)


class RedactQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


_FILTER = RedactQuerySecrets()


def install() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def uninstall() -> None:
    logging.getLogger(ACCESS_LOGGER).removeFilter(_FILTER)
