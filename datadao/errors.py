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


class Detail(str):
    """A refusal's message in English, remembering how it was made so that the API's answer can
    give it in the client's language (``datadao.http``).

    ``Detail("Row %(row)s has %(n)s cells.", row=3, n=5)`` *is* the English string "Row 3 has 5
    cells." everywhere: in logs, in the database, in comparisons. Only the one place that
    writes an error's ``detail`` looks up ``template`` in the catalogue and fills in
    ``params`` again. Translating at the answer, not where the error is raised, keeps what is
    stored and logged in one language whatever the language of the request that caused it.

    A parameter may itself be a ``Detail``: a phrase filled into the sentence ("Only an admin
    may %(what)s.", ``what=Detail("set a price")``) is translated with it.

    ``manage.py makemessages`` collects the templates (``Detail`` is one of its keywords).
    """

    template: str
    params: dict[str, object]
    # A model's choice label, translated by itself (``datadao.labels.label_detail``).
    label: object = None

    def __new__(cls, template: str, /, **params: object) -> Detail:
        text = super().__new__(cls, template % params if params else template)
        text.template = template
        text.params = params
        return text

    @classmethod
    def lowercase(cls, template: str, /) -> Detail:
        """A phrase that English writes in lower case mid-sentence ("it is accepted") but the
        catalogue holds as written elsewhere (the status label "Accepted"): the English text is
        lowered, the translation is used as it is."""
        text = str.__new__(cls, template.lower())
        text.template = template
        text.params = {}
        return text


def listed(faults: list[str]) -> str:
    """Faults in one line, "a; b; c", each still translated by itself where the refusal is
    answered (the joining template is in no catalogue: it has no words). Empty for none."""
    if len(faults) <= 1:
        return faults[0] if faults else ""
    template = "; ".join(f"%(fault{i})s" for i in range(len(faults)))
    return Detail(template, **{f"fault{i}": fault for i, fault in enumerate(faults)})
