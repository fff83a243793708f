"""The one family of refusals the platform's services raise.

A service that refuses a request raises an ``ApplicationError`` (or an app's subclass of it)
before it stores anything. Each carries a stable ``code`` the client can act on, a ``message``
that names the problem, and the HTTP ``status_code`` an API answers with. Services never build
responses; the API's one handler (``datadao.middleware.ApplicationErrorMiddleware``) turns an
uncaught one into ``{"error": code, "detail": message}``, and console and page views that want
to show the message in place catch the family themselves.

Kept free of Django imports: the pure modules may raise it too.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400
    code = "refused"
    # Seconds a client should wait before trying again (a ``Retry-After`` header), if any.
    retry_after: int | None = None

    def __init__(
        self, message: str, *, code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
