"""Read calendar bytes from a URL, a file or stdin, politely and within bounds.

HTTP sources get a conditional GET (``If-None-Match`` / ``If-Modified-Since``),
so an unchanged feed costs one small round trip and a ``304``. Every fetch is
bounded: the body is counted while it streams and refused as soon as it passes
``max_bytes``; connect and read timeouts plus a total deadline stop slow
servers; redirects are followed by hand so they can be counted and kept to
http(s). Feed URLs often carry secret tokens, so no message this module
produces contains a URL's credentials or query string (see ``redact_url``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:  # httpx is imported where a URL is fetched: reading a file stays light
    import httpx

from ical_bridge.errors import SourceError
from ical_bridge.ingest.sourcekey import source_key_for
from ical_bridge.vocabulary import MAX_SOURCE_BYTES

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FetchResult",
    "fetch_source",
    "hide_urls",
    "read_source",
    "redact_url",
    "scrub_secrets",
    "source_key_for",
]

DEFAULT_MAX_BYTES = MAX_SOURCE_BYTES
_HTTP_SCHEMES = ("http", "https")
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = "ical-bridge (calendar feed bridge for tickward)"


@dataclass(frozen=True)
class FetchResult:
    """What a fetch produced: the body (None when not modified) and the new validators."""

    body: bytes | None
    not_modified: bool
    etag: str | None
    last_modified: str | None
    final_url: str


def redact_url(url: str) -> str:
    """``url`` safe to show: no user:password, query replaced by ``?…``, no fragment."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub_secrets(text: str, url: str, *, shown: str | None = None) -> str:
    """``text`` without ``url``'s secrets (e.g. a library's message): the URL itself becomes
    ``shown`` (default: ``redact_url``), its query, credentials and fragment ``…``."""
    if not url:
        return text
    safe = shown if shown is not None else redact_url(url)
    text = text.replace(url, safe).replace(redact_url(url), safe)
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    query = parts.query
    for secret in (query, unquote(query), parts.username, parts.password, parts.fragment):
        if secret:
            text = text.replace(secret, "…")
    return text


def _scheme(source: str) -> str | None:
    """The URL scheme of ``source``, or None for a plain path."""
    head, sep, _ = source.partition("://")
    if sep and head and head[0].isalpha() and all(c.isalnum() or c in "+.-" for c in head):
        return head.lower()
    return None


async def fetch_source(
    source: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = 30.0,  # noqa: ASYNC109 (contract 6: per-operation and total bound)
    max_redirects: int = 5,
    transport: httpx.AsyncBaseTransport | None = None,
    label: str | None = None,
) -> FetchResult:
    """Fetch ``source`` (http(s)/webcal URL, file:// URL or path) within the given bounds.

    With ``label`` (e.g. ``$FEED_URL`` for a URL kept secret in the environment), errors
    name the source only by that label: no form of the URL (as given, scheme-mapped,
    redirected) appears in them.
    """
    if label is None:
        return await _fetch(source, etag, last_modified, max_bytes, timeout, max_redirects,
                            transport, [])
    seen = [source]  # every URL this fetch touched: the given one, mapped, redirected
    try:
        return await _fetch(source, etag, last_modified, max_bytes, timeout, max_redirects,
                            transport, seen)
    except SourceError as exc:
        raise SourceError(
            hide_urls(str(exc), seen, label), source=label, status=exc.status
        ) from None


def hide_urls(text: str, urls: list[str], label: str) -> str:
    """``text`` with every form of each of ``urls`` (and their secrets) replaced by ``label``."""
    forms: set[str] = set()
    for url in urls:
        if url:
            forms.update((url, redact_url(url)))
            if _scheme(url) == "webcal":
                mapped = "https" + url[len("webcal") :]
                forms.update((mapped, redact_url(mapped)))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, label)
    for url in urls:
        if url:
            text = scrub_secrets(text, url, shown=label)
            try:
                path = urlsplit(url).path
            except ValueError:
                continue
            if len(path) > 1:  # a token often is the path itself
                text = text.replace(path, "/…")
    return text


async def _fetch(
    source: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109
    max_redirects: int,
    transport: httpx.AsyncBaseTransport | None,
    seen: list[str],
) -> FetchResult:
    import asyncio  # here, not at the top: reading a file from the CLI needs no event loop

    scheme = _scheme(source)
    local = _local_path(source, scheme)
    if local is not None:
        return await asyncio.to_thread(_read_file_sync, local, source, max_bytes)
    plain: str | None = None
    if scheme == "webcal":
        # webcal:// names no transport: try https://, and http:// when nothing speaks TLS
        # there (the result's final_url then starts with http://, for the caller to say so).
        source, plain = "https" + source[len("webcal") :], "http" + source[len("webcal") :]
        seen.append(source)
    elif scheme not in _HTTP_SCHEMES:
        raise SourceError(
            f"unsupported source scheme {scheme!r} (use http, https, webcal, file or a path)",
            source=redact_url(source),
        )
    try:
        async with asyncio.timeout(timeout):
            if plain is not None:
                import httpx

                try:
                    return await _fetch_http(
                        source, etag, last_modified, max_bytes, timeout, max_redirects,
                        transport, seen, raw_connect_errors=True,
                    )
                except httpx.ConnectError:
                    source = plain
                    seen.append(source)
            return await _fetch_http(
                source, etag, last_modified, max_bytes, timeout, max_redirects, transport, seen
            )
    except TimeoutError:
        raise SourceError(
            f"{redact_url(source)}: no complete answer within {timeout:g} s",
            source=redact_url(source),
        ) from None


async def _fetch_http(
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    seconds: float,
    max_redirects: int,
    transport: httpx.AsyncBaseTransport | None,
    seen: list[str],
    *,
    raw_connect_errors: bool = False,
) -> FetchResult:
    import httpx

    headers = {"User-Agent": _USER_AGENT, "Accept": "text/calendar, text/plain;q=0.8, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    limits = httpx.Timeout(seconds, connect=min(seconds, 15.0))
    async with httpx.AsyncClient(
        transport=transport, timeout=limits, follow_redirects=False
    ) as client:
        for _ in range(max_redirects + 1):
            try:
                async with client.stream("GET", url, headers=headers) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        url = _next_url(url, response.headers["location"], seen)
                        continue
                    return await _read_response(response, url, max_bytes)
            except httpx.TimeoutException as exc:
                raise SourceError(
                    f"{redact_url(url)}: timed out ({type(exc).__name__})", source=redact_url(url)
                ) from None
            except httpx.HTTPError as exc:
                if raw_connect_errors and isinstance(exc, httpx.ConnectError):
                    raise
                detail = scrub_secrets(str(exc), url) or type(exc).__name__
                raise SourceError(f"{redact_url(url)}: {detail}", source=redact_url(url)) from None
    raise SourceError(
        f"{redact_url(url)}: more than {max_redirects} redirects", source=redact_url(url)
    )


def _next_url(current: str, location: str, seen: list[str]) -> str:
    target = urljoin(current, location.strip())
    seen.append(target)
    if _scheme(target) not in _HTTP_SCHEMES:
        raise SourceError(
            f"{redact_url(current)}: refused redirect to a non-http location "
            f"{redact_url(target)!r}",
            source=redact_url(current),
        )
    return target


async def _read_response(response: httpx.Response, url: str, max_bytes: int) -> FetchResult:
    new_etag = response.headers.get("etag")
    new_modified = response.headers.get("last-modified")
    if response.status_code == 304:
        return FetchResult(None, True, new_etag, new_modified, url)
    if not 200 <= response.status_code < 300:
        raise SourceError(
            f"{redact_url(url)}: HTTP {response.status_code} {response.reason_phrase}".rstrip(),
            source=redact_url(url),
            status=response.status_code,
        )
    declared = response.headers.get("content-length", "")
    encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
    if declared.isdigit() and int(declared) > max_bytes and not encoded:
        raise _too_big(url, max_bytes, response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _too_big(url, max_bytes, response.status_code)
        chunks.append(chunk)
    return FetchResult(b"".join(chunks), False, new_etag, new_modified, url)


def _too_big(source: str, max_bytes: int, status: int | None = None) -> SourceError:
    return SourceError(
        f"{redact_url(source)}: larger than the {max_bytes} byte limit",
        source=redact_url(source),
        status=status,
    )


def _local_path(source: str, scheme: str | None) -> Path | None:
    """The file ``source`` names (a path or a file:// URL), None for other URLs."""
    if scheme is None:
        return Path(source)
    if scheme != "file":
        return None
    parts = urlsplit(source)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(
            f"file URL with a remote host is not supported: {redact_url(source)}",
            source=redact_url(source),
        )
    return Path(unquote(parts.path))


def _read_file_sync(path: Path, source: str, max_bytes: int) -> FetchResult:
    return FetchResult(_read_bytes(path, source, max_bytes), False, None, None, source)


def _read_bytes(path: Path, source: str, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceError(f"{path}: {reason}", source=str(path)) from None
    if len(body) > max_bytes:
        raise _too_big(str(path), max_bytes)
    return body


def read_source(source: str, *, stdin: BinaryIO | None = None, **kw: Any) -> bytes:
    """Blocking read of ``source`` for the CLI; ``-`` reads ``stdin`` (default: sys.stdin)."""
    max_bytes = int(kw.get("max_bytes", DEFAULT_MAX_BYTES))
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        body = stream.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise _too_big("stdin", max_bytes)
        return body
    local = _local_path(source, _scheme(source))
    if local is not None:  # a file has no validators: read it here, without an event loop
        return _read_bytes(local, source, max_bytes)
    import asyncio

    result = asyncio.run(fetch_source(source, **kw))
    if result.body is None:
        raise SourceError(
            f"{redact_url(source)}: not modified since the given validators",
            source=redact_url(source),
            status=304,
        )
    return result.body
