"""KV store endpoints: ``storage/collections/config`` (Atom) and ``storage/collections/data`` (JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dsdl_golden.emulator.atom import entry_xml, feed_document
from dsdl_golden.emulator.http import XML_TYPE, Response, json_response, strict_loads
from dsdl_golden.emulator.kvstore import Collection, KVStore
from dsdl_golden.emulator.restcall import Call, CallError
from dsdl_golden.emulator.times import format_time

__all__ = ["KVStoreApi"]

_MAX_BATCH = 1000
_CONFIG_PREFIXES = ("field.", "accelerated_fields.", "enforceTypes", "replicate", "profilingEnabled")


def _missing(name: str) -> CallError:
    return CallError(404, f"An object with name={name} does not exist", "ERROR")


def _json_body(call: Call) -> Any:
    try:
        return strict_loads(call.request.body or b"null")
    except ValueError:  # also NaN/Infinity, nesting beyond MAX_JSON_DEPTH and bytes that are not UTF-8
        raise CallError(400, "Request body is not valid JSON.", "ERROR") from None


def _document_body(call: Call) -> dict[str, Any]:
    document = _json_body(call)
    if not isinstance(document, dict):
        raise CallError(400, "The document must be a JSON object.", "ERROR")
    return document


def _json_param(call: Call, name: str) -> Any:
    value = call.params.get(name)
    if not value:
        return None
    try:
        return strict_loads(value)
    except ValueError:
        raise CallError(400, f"Invalid JSON in '{name}'.", "ERROR") from None


class KVStoreApi:
    """Collections (config) and documents (data) of the KV store."""

    def __init__(self, store: KVStore, base_url: Callable[[], str]) -> None:
        self.store = store
        self.base_url = base_url

    # --- configuration -------------------------------------------------------------------------

    @staticmethod
    def _check_owner(call: Call) -> None:
        if call.owner not in (None, "nobody", "-"):
            raise CallError(
                400,
                "Must use user context of 'nobody' when interacting with collection configurations "
                f"(used user='{call.owner}')",
                "ERROR",
            )

    def _feed(self, collections: list[Collection], status: int = 200) -> Response:
        base = self.base_url()
        entries = []
        for collection in collections:
            path = f"/servicesNS/nobody/{collection.app}/storage/collections/config/{collection.name}"
            content: dict[str, Any] = {
                **collection.config,
                "disabled": "0",
                "eai:appName": collection.app,
                "eai:acl": {
                    "app": collection.app,
                    "owner": "nobody",
                    "sharing": "app",
                    "perms": {"read": ["*"], "write": ["*"]},
                },
            }
            entries.append(
                entry_xml(
                    title=collection.name,
                    entry_id=f"{base}{path}",
                    updated=format_time(0.0),
                    links={"alternate": path, "list": path, "edit": path, "remove": path},
                    content=content,
                )
            )
        feed = feed_document(
            title="collections-conf",
            feed_id=f"{base}/services/storage/collections/config",
            updated=format_time(0.0),
            entries=entries,
        )
        return Response(status, feed, XML_TYPE)

    def _collection(self, call: Call, name: str) -> Collection:
        collection = self.store.get(call.app_or_default, name)
        if collection is None:
            raise _missing(name)
        return collection

    @staticmethod
    def _config_params(call: Call) -> dict[str, str]:
        return {key: value for key, value in call.params.items() if key.startswith(_CONFIG_PREFIXES)}

    def list_collections(self, call: Call) -> Response:
        """``GET storage/collections/config``."""
        self._check_owner(call)
        return self._feed(self.store.list(None if call.app == "-" else call.app_or_default))

    def create_collection(self, call: Call) -> Response:
        """``POST storage/collections/config`` with ``name=`` and ``field.*``/``accelerated_fields.*``."""
        self._check_owner(call)
        name = call.params.get("name")
        if not name:
            raise CallError(400, "Missing required argument: name", "ERROR")
        try:
            collection = self.store.create(call.app_or_default, name, self._config_params(call))
        except KeyError:
            raise CallError(409, f"An object with name={name} already exists", "ERROR") from None
        return self._feed([collection], 201)

    def get_collection(self, call: Call) -> Response:
        """``GET storage/collections/config/<name>``: a feed with one entry."""
        self._check_owner(call)
        return self._feed([self._collection(call, call.groups["name"])])

    def update_collection(self, call: Call) -> Response:
        """``POST storage/collections/config/<name>``: change ``field.*``/``accelerated_fields.*``."""
        self._check_owner(call)
        collection = self._collection(call, call.groups["name"])
        collection.config.update(self._config_params(call))
        return self._feed([collection])

    def delete_collection(self, call: Call) -> Response:
        """``DELETE storage/collections/config/<name>``."""
        self._check_owner(call)
        if not self.store.delete(call.app_or_default, call.groups["name"]):
            raise _missing(call.groups["name"])
        return self._feed([])

    # --- data ----------------------------------------------------------------------------------

    def query(self, call: Call) -> Response:
        """``GET storage/collections/data/<name>`` (``query``, ``sort``, ``skip``, ``limit``, ``fields``)."""
        collection = self._collection(call, call.groups["name"])
        query = _json_param(call, "query")
        if query is not None and not isinstance(query, dict):
            raise CallError(400, "The query must be a JSON object.", "ERROR")
        try:
            found = collection.find(
                query,
                sort=call.params.get("sort", ""),
                skip=call.integer("skip", 0),
                limit=call.integer("limit", 0),
                fields=call.params.get("fields", ""),
            )
        except ValueError as error:
            raise CallError(400, str(error), "ERROR") from None
        return json_response(200, found)

    def insert(self, call: Call) -> Response:
        """``POST storage/collections/data/<name>``: 201 ``{"_key": ...}``, 409 on a duplicate key."""
        collection = self._collection(call, call.groups["name"])
        document = _document_body(call)
        try:
            key = collection.save(document, self.store.new_key, insert=True)
        except KeyError:
            raise CallError(409, "A document with the same key already exists.", "ERROR") from None
        return json_response(201, {"_key": key})

    def delete_documents(self, call: Call) -> Response:
        """``DELETE storage/collections/data/<name>`` (all, or those matching ``query``)."""
        collection = self._collection(call, call.groups["name"])
        collection.delete(_json_param(call, "query"))
        return Response(200, b"", None)

    def batch_save(self, call: Call) -> Response:
        """``POST .../batch_save``: upsert a JSON array of documents; answers their keys."""
        collection = self._collection(call, call.groups["name"])
        documents = _json_body(call)
        if not isinstance(documents, list) or not all(isinstance(doc, dict) for doc in documents):
            raise CallError(400, "The body must be a JSON array of objects.", "ERROR")
        if len(documents) > _MAX_BATCH:
            raise CallError(400, f"Exceeded max_documents_per_batch_save={_MAX_BATCH}.", "ERROR")
        return json_response(200, [collection.save(doc, self.store.new_key) for doc in documents])

    def batch_find(self, call: Call) -> Response:
        """``POST .../batch_find``: a JSON array of ``{"query", "sort", "skip", "limit", "fields"}``."""
        collection = self._collection(call, call.groups["name"])
        queries = _json_body(call)
        if not isinstance(queries, list) or not all(isinstance(item, dict) for item in queries):
            raise CallError(400, "The body must be a JSON array of query objects.", "ERROR")
        try:
            found = [
                collection.find(
                    item.get("query"),
                    sort=str(item.get("sort", "")),
                    skip=int(item.get("skip", 0)),
                    limit=int(item.get("limit", 0)),
                    fields=str(item.get("fields", "")),
                )
                for item in queries
            ]
        except ValueError as error:
            raise CallError(400, str(error), "ERROR") from None
        return json_response(200, found)

    def get_document(self, call: Call) -> Response:
        """``GET .../<key>``."""
        collection = self._collection(call, call.groups["name"])
        with collection.lock:
            document = collection.documents.get(call.groups["key"])
        if document is None:
            raise CallError(404, "Could not find object.", "ERROR")
        return json_response(200, document)

    def update_document(self, call: Call) -> Response:
        """``POST .../<key>``: replace (or create) the document."""
        collection = self._collection(call, call.groups["name"])
        document = _document_body(call)
        key = collection.save({**document, "_key": call.groups["key"]}, self.store.new_key)
        return json_response(200, {"_key": key})

    def delete_document(self, call: Call) -> Response:
        """``DELETE .../<key>``."""
        collection = self._collection(call, call.groups["name"])
        if not collection.delete({"_key": call.groups["key"]}):
            raise CallError(404, "Could not find object.", "ERROR")
        return Response(200, b"", None)
