"""Sign-In with Ethereum (EIP-4361): strict parser, builder and verifier. No Django imports.

We parse the message ourselves rather than depend on the ``siwe`` PyPI package (it pins
``eth-account<0.14`` and breaks with ``abnf>=2.9``). The grammar is small and line-oriented, so
each line is matched against an anchored pattern derived from the ABNF. Compatibility with an
independent implementation is checked against vectors produced by the ``siwe`` npm package
(tests/vectors/siwe/).

The server checks that belong to a request (domain, URI, allowed chains, the nonce) are done by
the caller with the parsed fields; ``verify_signature`` and ``check_times`` are the pure parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

# Bounds that keep a hostile message cheap to refuse (10k resources, huge lines).
MAX_MESSAGE_BYTES = 8192
MAX_RESOURCES = 32
MAX_STATEMENT_LENGTH = 1024

# secp256k1 group order; a signature with s above half of it is the malleable twin (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
# RFC 3986 pieces, ASCII only: a Unicode look-alike domain can never match.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_AUTHORITY = (
    rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:%]+@)?"  # userinfo
    rf"(?:\[[0-9A-Fa-f:.]+\]|[{_UNRESERVED}{_SUB_DELIMS}%]+)"  # host
    r"(?::[0-9]*)?"  # port
)
_URI_CHARS = rf"[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@%]"
_URI = rf"{_SCHEME}:{_URI_CHARS}+"
_STATEMENT = rf"[{_UNRESERVED}{_SUB_DELIMS}:/?#\[\]@ ]*"
_DATE_TIME = (
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt](?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)"
    r"(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)

_RE_HEADER = re.compile(rf"^(?:(?P<scheme>{_SCHEME})://)?(?P<domain>{_AUTHORITY}){_HEADER_SUFFIX}$")
_RE_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_RE_STATEMENT = re.compile(rf"^{_STATEMENT}$")
_FIELDS = (
    ("uri", "URI", re.compile(rf"^URI: (?P<v>{_URI})$"), True),
    ("version", "Version", re.compile(r"^Version: (?P<v>1)$"), True),
    ("chain_id", "Chain ID", re.compile(r"^Chain ID: (?P<v>[1-9][0-9]{0,19})$"), True),
    ("nonce", "Nonce", re.compile(r"^Nonce: (?P<v>[A-Za-z0-9]{8,128})$"), True),
    ("issued_at", "Issued At", re.compile(rf"^Issued At: (?P<v>{_DATE_TIME})$"), True),
    (
        "expiration_time",
        "Expiration Time",
        re.compile(rf"^Expiration Time: (?P<v>{_DATE_TIME})$"),
        False,
    ),
    ("not_before", "Not Before", re.compile(rf"^Not Before: (?P<v>{_DATE_TIME})$"), False),
    (
        "request_id",
        "Request ID",
        re.compile(rf"^Request ID: (?P<v>[{_UNRESERVED}{_SUB_DELIMS}:@%]*)$"),
        False,
    ),
)
_RE_RESOURCE = re.compile(rf"^- (?P<v>{_URI})$")


class SiweError(ValueError):
    """A message or signature that must be refused; ``code`` is stable, the text is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: str
    scheme: str | None = None
    statement: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def to_text(self) -> str:
        """The canonical EIP-4361 text, byte-identical to the siwe npm package's output."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [f"{origin}{_HEADER_SUFFIX}", self.address, ""]
        if self.statement is not None:
            lines += [self.statement, ""]
        else:
            lines.append("")
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {self.issued_at}",
        ]
        if self.expiration_time:
            lines.append(f"Expiration Time: {self.expiration_time}")
        if self.not_before:
            lines.append(f"Not Before: {self.not_before}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message strictly; raise ``SiweError`` naming the first fault."""
    if not isinstance(text, str) or not text:
        raise SiweError("malformed", "The message is empty.")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise SiweError("malformed", f"The message is longer than {MAX_MESSAGE_BYTES} bytes.")
    if "\r" in text:
        raise SiweError("malformed", "The message must use LF line endings, not CR or CRLF.")
    lines = text.split("\n")
    header = _RE_HEADER.match(lines[0])
    if header is None:
        raise SiweError(
            "malformed",
            f"Line 1 must be '<domain>{_HEADER_SUFFIX}' with an ASCII domain.",
        )
    if len(lines) < 2 or not _RE_ADDRESS.match(lines[1]):
        raise SiweError("malformed", "Line 2 must be a 0x-prefixed 40-hex-digit address.")
    address = lines[1]
    if not is_checksum_address(address):
        raise SiweError("malformed", "The address must be EIP-55 checksummed (mixed case).")
    if len(lines) < 4 or lines[2] != "":
        raise SiweError("malformed", "Line 3 must be empty.")
    statement: str | None = None
    pos = 3
    if lines[3] != "":
        statement = lines[3]
        if len(statement) > MAX_STATEMENT_LENGTH or not _RE_STATEMENT.match(statement):
            raise SiweError(
                "malformed",
                "The statement may only hold printable ASCII URI characters and spaces.",
            )
        pos = 4
        if len(lines) <= pos or lines[pos] != "":
            raise SiweError("malformed", "The statement must be followed by an empty line.")
    pos += 1

    values: dict[str, str] = {}
    for key, label, pattern, required in _FIELDS:
        line = lines[pos] if pos < len(lines) else None
        if line is not None and line.startswith(f"{label}: "):
            match = pattern.match(line)
            if match is None:
                raise SiweError("malformed", f"The '{label}' field is not valid.")
            values[key] = match.group("v")
            pos += 1
        elif required:
            raise SiweError("malformed", f"The '{label}' field is missing or out of order.")

    resources: list[str] = []
    if pos < len(lines) and lines[pos] == "Resources:":
        pos += 1
        while pos < len(lines):
            match = _RE_RESOURCE.match(lines[pos])
            if match is None:
                raise SiweError(
                    "malformed", f"Resource line {len(resources) + 1} is not '- <URI>'."
                )
            resources.append(match.group("v"))
            if len(resources) > MAX_RESOURCES:
                raise SiweError("malformed", f"At most {MAX_RESOURCES} resources are accepted.")
            pos += 1
    if pos != len(lines):
        raise SiweError("malformed", f"Unexpected content on line {pos + 1}.")

    return SiweMessage(
        scheme=header.group("scheme"),
        domain=header.group("domain"),
        address=address,
        statement=statement,
        uri=values["uri"],
        version=values["version"],
        chain_id=int(values["chain_id"]),
        nonce=values["nonce"],
        issued_at=values["issued_at"],
        expiration_time=values.get("expiration_time"),
        not_before=values.get("not_before"),
        request_id=values.get("request_id"),
        resources=tuple(resources),
    )


def parse_datetime(value: str) -> datetime:
    """RFC 3339 date-time to an aware datetime (the grammar already guaranteed the shape)."""
    normalized = value.upper().replace("Z", "+00:00")
    # fromisoformat takes at most 6 fractional digits; RFC 3339 allows any number.
    normalized = re.sub(r"(\.\d{6})\d+", r"\1", normalized)
    return datetime.fromisoformat(normalized)


def check_times(
    message: SiweMessage, *, now: datetime, skew: timedelta, max_age: timedelta
) -> None:
    """Refuse a message issued in the future or more than ``max_age`` ago, expired, or not yet
    valid, allowing ``skew`` each way for clocks that disagree.

    ``max_age`` bounds how long a signed message stays usable whatever its own 'Expiration
    Time' says (or when it has none): a message signed long ago and kept is not a sign-in.
    """
    issued_at = parse_datetime(message.issued_at)
    if issued_at > now + skew:
        raise SiweError("not_yet_valid", "The message's 'Issued At' is in the future.")
    if issued_at < now - max_age - skew:
        raise SiweError(
            "stale_message",
            f"The message's 'Issued At' is more than {int(max_age.total_seconds())} seconds "
            "ago; ask for a new nonce and sign again.",
        )
    if message.expiration_time and parse_datetime(message.expiration_time) <= now - skew:
        raise SiweError("expired", "The message has expired.")
    if message.not_before and parse_datetime(message.not_before) > now + skew:
        raise SiweError("not_yet_valid", "The message is not valid yet ('Not Before').")


def verify_signature(text: str, signature: str, address: str) -> None:
    """Check an EIP-191 ``personal_sign`` signature of ``text`` by ``address``.

    Refuses anything but a 65-byte hex signature, the high-s twin of a valid signature, and a
    signer other than ``address``.
    """
    if not isinstance(signature, str) or not re.fullmatch(r"0x[0-9a-fA-F]{130}", signature):
        raise SiweError("bad_signature", "The signature must be 65 bytes as 0x-prefixed hex.")
    raw = bytes.fromhex(signature[2:])
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28) or not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise SiweError("bad_signature", "The signature is not a valid secp256k1 signature.")
    if s > SECP256K1_N // 2:
        raise SiweError("bad_signature", "The signature has a high s value (EIP-2); refused.")
    try:
        signer = Account.recover_message(encode_defunct(text=text), vrs=(v, r, s))
    except Exception as exc:  # eth-keys raises several types for unrecoverable points
        raise SiweError("bad_signature", "The signature does not recover to any address.") from exc
    if signer != address:
        raise SiweError("wrong_signer", "The signature was not made by the message's address.")
