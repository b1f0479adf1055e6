"""splunkd's XML bodies: Atom entries and feeds with ``s:dict`` content, and ``<response>`` envelopes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Content", "entry_document", "entry_xml", "feed_document", "response_document"]

Content = Mapping[str, "str | Content | Sequence[str]"]

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NAMESPACES = (
    'xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" '
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
)


def _value(value: str | Content | Sequence[str]) -> str:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Mapping):
        return _dict(value)
    items = "".join(f"<s:item>{escape(item)}</s:item>" for item in value)
    return f"<s:list>{items}</s:list>"


def _dict(content: Content) -> str:
    keys = "".join(
        f"<s:key name={quoteattr(name)}>{_value(value)}</s:key>" for name, value in content.items()
    )
    return f"<s:dict>{keys}</s:dict>"


def entry_xml(
    *,
    title: str,
    entry_id: str,
    updated: str,
    links: Mapping[str, str],
    content: Content,
    author: str = "nobody",
    namespaces: bool = False,
) -> str:
    """One ``<entry>``; ``links`` maps ``rel`` to ``href`` (``alternate`` is what the SDK follows)."""
    link_xml = "".join(f"<link href={quoteattr(href)} rel={quoteattr(rel)}/>" for rel, href in links.items())
    opening = f"<entry {_NAMESPACES}>" if namespaces else "<entry>"
    return (
        f"{opening}<title>{escape(title)}</title><id>{escape(entry_id)}</id><updated>{updated}</updated>"
        f"{link_xml}<author><name>{escape(author)}</name></author>"
        f'<content type="text/xml">{_dict(content)}</content></entry>'
    )


def entry_document(
    *, title: str, entry_id: str, updated: str, links: Mapping[str, str], content: Content, author: str
) -> bytes:
    """A document whose root is one namespaced ``<entry>`` (the search job form)."""
    xml = entry_xml(
        title=title,
        entry_id=entry_id,
        updated=updated,
        links=links,
        content=content,
        author=author,
        namespaces=True,
    )
    return (_DECLARATION + xml).encode()


def feed_document(
    *,
    title: str,
    feed_id: str,
    updated: str,
    entries: Iterable[str],
    paging: tuple[int, int, int] | None = None,
) -> bytes:
    """An Atom ``<feed>`` of ``entries`` (made by :func:`entry_xml`); ``paging`` is (total, per page,
    offset) of a listing that shows one page (default: the entries are all there is, 30 per page)."""
    items = list(entries)
    total, per_page, offset = paging or (len(items), 30, 0)
    return (
        f"{_DECLARATION}<feed {_NAMESPACES}><title>{escape(title)}</title><id>{escape(feed_id)}</id>"
        f'<updated>{updated}</updated><generator build="emulator" version="emulator"/>'
        f"<author><name>Splunk</name></author>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>"
        f"<opensearch:startIndex>{offset}</opensearch:startIndex>"
        f"{''.join(items)}</feed>"
    ).encode()


_EMPTY_MESSAGE = '<msg code=""></msg>'


def response_document(messages: Sequence[tuple[str, str]] | None = None, **elements: str) -> bytes:
    """A ``<response>`` with simple child elements (``sessionKey``, ``sid``) and, unless ``messages``
    is ``None``, a ``<messages>`` list (an empty list gives splunkd's ``<msg code=""></msg>``)."""
    children = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in elements.items())
    if messages is not None:
        msgs = "".join(f"<msg type={quoteattr(kind)}>{escape(text)}</msg>" for kind, text in messages)
        children += f"<messages>{msgs or _EMPTY_MESSAGE}</messages>"
    return f"{_DECLARATION}<response>{children}</response>".encode()
