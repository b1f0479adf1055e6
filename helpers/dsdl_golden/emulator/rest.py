"""splunkd REST on the management port: namespaces, routing, authentication, login, server/info,
the index list (``data/indexes``) and the HEC tokens (``data/inputs/http``)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from dsdl_golden.emulator.atom import Content, entry_xml, feed_document, response_document
from dsdl_golden.emulator.auth import AuthFailure, Sessions
from dsdl_golden.emulator.config import HecToken, Settings
from dsdl_golden.emulator.http import XML_TYPE, Request, Response, json_response, parse_form
from dsdl_golden.emulator.rest_kvstore import KVStoreApi
from dsdl_golden.emulator.rest_search import SearchApi
from dsdl_golden.emulator.restcall import Call, CallError, rest_error
from dsdl_golden.emulator.times import format_time

__all__ = ["RestService"]

_NAMESPACE = re.compile(
    r"/services(?:/(?P<rest>.*))?|/servicesNS/(?P<owner>[^/]+)/(?P<app>[^/]+)(?:/(?P<nsrest>.*))?"
)
_LOGIN_FAILED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<response><messages>'
    b'<msg type="WARN" code="incorrect_username_or_password">Login failed</msg></messages></response>'
)
_NOT_AUTHENTICATED = "call not properly authenticated"
_PER_PAGE = 30  # entries of a listing that names no count, as splunkd

Endpoint = Callable[[Call], Response]


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    methods: dict[str, Endpoint]
    json_body: bool = False  # KV data: the body is JSON, errors are JSON


class RestService:
    """Routes ``/services/...`` and ``/servicesNS/<owner>/<app>/...`` requests (trailing ``/`` ignored)."""

    def __init__(
        self, settings: Settings, sessions: Sessions, search: SearchApi, kvstore: KVStoreApi
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.port = 0
        self.datasets = search.engine.datasets
        jobs = r"search/(?:v2/)?jobs"
        data = r"storage/collections/data/(?P<name>[^/]+)"
        config = r"storage/collections/config"
        table: list[tuple[str, dict[str, Endpoint], bool]] = [
            (r"server/info(?:/server-info)?", {"GET": self.server_info}, False),
            (r"data/indexes", {"GET": self.list_indexes}, False),
            (r"data/indexes/(?P<name>[^/]+)", {"GET": self.get_index}, False),
            (r"data/inputs/http", {"GET": self.list_http_inputs}, False),
            (jobs, {"GET": search.list, "POST": search.create}, False),
            (rf"{jobs}/export", {"POST": search.export}, False),
            (rf"{jobs}/(?P<sid>[^/]+)", {"GET": search.entry, "DELETE": search.delete}, False),
            (rf"{jobs}/(?P<sid>[^/]+)/control", {"POST": search.control}, False),
            (
                rf"{jobs}/(?P<sid>[^/]+)/(?P<kind>results|results_preview|events)",
                {"GET": search.rows, "POST": search.rows},
                False,
            ),
            (config, {"GET": kvstore.list_collections, "POST": kvstore.create_collection}, False),
            (
                rf"{config}/(?P<name>[^/]+)",
                {
                    "GET": kvstore.get_collection,
                    "POST": kvstore.update_collection,
                    "DELETE": kvstore.delete_collection,
                },
                False,
            ),
            (
                data,
                {"GET": kvstore.query, "POST": kvstore.insert, "DELETE": kvstore.delete_documents},
                True,
            ),
            (rf"{data}/batch_save", {"POST": kvstore.batch_save, "PUT": kvstore.batch_save}, True),
            (rf"{data}/batch_find", {"POST": kvstore.batch_find}, True),
            (
                rf"{data}/(?P<key>[^/]+)",
                {
                    "GET": kvstore.get_document,
                    "POST": kvstore.update_document,
                    "DELETE": kvstore.delete_document,
                },
                True,
            ),
        ]
        self.routes = [
            _Route(re.compile(pattern), methods, json_body) for pattern, methods, json_body in table
        ]

    def handle(self, request: Request) -> Response:
        """Answer one REST request."""
        params = dict(request.query)
        as_json = params.get("output_mode") == "json"
        try:
            namespace = _NAMESPACE.fullmatch(request.path)
            if namespace is None:
                raise CallError(404, "Not Found", "ERROR")
            path = (namespace.group("rest") or namespace.group("nsrest") or "").rstrip("/")
            if path == "auth/login":
                params.update(parse_form(request.body.decode("utf-8", "replace")))
                return self._login(request, params)
            route, groups = self._route(path)
            if not route.json_body:
                params.update(parse_form(request.body.decode("utf-8", "replace")))
            as_json = route.json_body or params.get("output_mode") == "json"
            user = self._user(request)
            endpoint = route.methods.get(request.method)
            if endpoint is None:
                raise CallError(
                    405, "Method Not Allowed", "ERROR", headers=[("Allow", ", ".join(route.methods))]
                )
            owner, app = (
                urllib.parse.unquote(part) if part else None for part in namespace.group("owner", "app")
            )
            return endpoint(Call(request, params, owner, app, user, groups))
        except CallError as error:
            return rest_error(
                error.status,
                error.text,
                kind=error.kind,
                as_json=error.as_json or as_json,
                headers=error.headers,
            )

    def _route(self, path: str) -> tuple[_Route, dict[str, str]]:
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                groups = match.groupdict()
                return route, {key: urllib.parse.unquote(value) for key, value in groups.items() if value}
        raise CallError(404, "Not Found", "ERROR")

    def _user(self, request: Request) -> str:
        user = self.sessions.authenticate(request)
        if user is AuthFailure.BASIC:
            headers = [("WWW-Authenticate", 'Basic realm="/splunk"')]
            raise CallError(401, "Unauthorized", "ERROR", as_json=True, headers=headers)
        if isinstance(user, AuthFailure):
            raise CallError(401, _NOT_AUTHENTICATED, "WARN")
        return user

    def _login(self, request: Request, params: dict[str, str]) -> Response:
        if request.method != "POST":
            raise CallError(405, "Method Not Allowed", "ERROR", headers=[("Allow", "POST")])
        username, password = params.get("username"), params.get("password")
        if not username or password is None:
            raise CallError(400, "Login failed: username and password are required.", "WARN")
        key = self.sessions.login(username, password)
        if key is None:
            return Response(401, _LOGIN_FAILED, XML_TYPE)
        headers = []
        if params.get("cookie") == "1" and self.settings.config.set_cookie_on_login:
            headers.append(
                ("Set-Cookie", f"splunkd_{self.port}={key}; Path=/; Secure; HttpOnly; Max-Age=3600")
            )
        if params.get("output_mode") == "json":
            return json_response(200, {"sessionKey": key, "message": "", "code": ""}, headers)
        return Response(200, response_document([], sessionKey=key), XML_TYPE, headers)

    def server_info(self, call: Call) -> Response:
        """``GET server/info``: the version gate of splunklib (``version`` must be dotted integers)."""
        config = self.settings.config
        content: dict[str, str] = {
            "version": config.splunk_version,
            "build": "emulator",
            "serverName": config.server_name,
            "product_type": "enterprise",
            "os_name": "Linux",
            "guid": "00000000-0000-0000-0000-000000000000",
        }
        if config.instance_type:
            content["instance_type"] = config.instance_type
        updated = format_time(0.0)
        if call.json_mode:
            document = {"name": "server-info", "updated": updated, "author": "system", "content": content}
            return json_response(200, {"generator": {"version": config.splunk_version}, "entry": [document]})
        entry = entry_xml(
            title="server-info",
            entry_id="/services/server/info/server-info",
            updated=updated,
            links={"alternate": "/services/server/info/server-info"},
            content=content,
            author="system",
        )
        return Response(
            200,
            feed_document(
                title="server-info", feed_id="/services/server/info", updated=updated, entries=[entry]
            ),
            XML_TYPE,
        )

    def _index_entries(self) -> list[tuple[str, Content]]:
        settings = self.settings
        with settings.lock:
            events = set(settings.indexes) | set(self.datasets.names()["indexes"])
            metrics = set(settings.metrics_indexes)
        kinds = {**dict.fromkeys(events - metrics, "event"), **dict.fromkeys(metrics, "metric")}
        return [(name, {"datatype": kind, "disabled": "0"}) for name, kind in sorted(kinds.items())]

    def list_indexes(self, call: Call) -> Response:
        """``GET data/indexes``: event indexes, or every index with ``datatype=all`` (``metric``: metrics)."""
        wanted = call.params.get("datatype", "event")
        entries = [entry for entry in self._index_entries() if wanted in ("all", entry[1]["datatype"])]
        return _feed(call, "indexes", "data/indexes", entries)

    def get_index(self, call: Call) -> Response:
        """``GET data/indexes/<name>``: one index of any datatype, 404 when it does not exist."""
        name = call.groups["name"]
        entries = [entry for entry in self._index_entries() if entry[0] == name]
        if not entries:
            raise CallError(404, f"Could not find object id={name}", "ERROR")
        return _feed(call, "indexes", "data/indexes", entries)

    def list_http_inputs(self, call: Call) -> Response:
        """``GET data/inputs/http``: the HEC tokens as inputs.conf stanzas ``http://<name>``."""
        with self.settings.lock:
            tokens = list(self.settings.tokens.values())
        entries = [(f"http://{token.label}", _http_input(token)) for token in tokens]
        return _feed(call, "http", "data/inputs/http", entries)


def _http_input(token: HecToken) -> Content:
    content: dict[str, str | list[str]] = {
        "token": token.token,
        "indexes": list(token.indexes),
        "disabled": "1" if token.disabled else "0",
        "useACK": "1" if token.use_ack else "0",
    }
    if token.default_index:
        content["index"] = token.default_index
    return content


def _feed(call: Call, title: str, path: str, entries: list[tuple[str, Content]]) -> Response:
    """A page of the collection ``entries`` (name, content) as splunkd's Atom feed or, with
    ``output_mode=json``, its JSON form: ``count`` entries (30 unless given; 0 or less: all, as
    splunk-sdk's ``list()`` asks with -1) from ``offset``."""
    updated = format_time(0.0)
    total, per_page, offset = (
        len(entries),
        call.integer("count", _PER_PAGE),
        max(call.integer("offset", 0), 0),
    )
    entries = entries[offset:] if per_page <= 0 else entries[offset : offset + per_page]
    if call.json_mode:
        items = [
            {"name": name, "id": f"/services/{path}/{name}", "updated": updated, "content": content}
            for name, content in entries
        ]
        paging = {"total": total, "perPage": per_page, "offset": offset}
        return json_response(200, {"updated": updated, "entry": items, "paging": paging, "messages": []})
    xml_entries = [
        entry_xml(
            title=name,
            entry_id=f"/services/{path}/{name}",
            updated=updated,
            links={"alternate": f"/services/{path}/{name}"},
            content=content,
        )
        for name, content in entries
    ]
    document = feed_document(
        title=title,
        feed_id=f"/services/{path}",
        updated=updated,
        entries=xml_entries,
        paging=(total, per_page, offset),
    )
    return Response(200, document, XML_TYPE)
