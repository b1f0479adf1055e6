"""A local Splunk for tests: splunkd REST (search jobs, KV store) and the HTTP Event Collector.

:class:`SplunkEmulator` serves two loopback ports (HTTPS with a generated CA by default, the
:attr:`~SplunkEmulator.ca_bundle`), close enough to Splunk 9.x that the real ``splunk-sdk`` and
ordinary HEC clients work against it unchanged:

HEC (``hec_url``, Splunk's port 8088)
    ``POST /services/collector``, ``/services/collector/event`` (JSON events, batched back to back;
    metric events go to metrics indexes), ``/services/collector/raw`` (lines), ``GET
    /services/collector/health`` and ``POST /services/collector/ack`` (tokens with ``useACK``), with
    Splunk's status codes and ``{"text", "code"}`` answers (:data:`HEC_CODES`), tokens allowed to
    some indexes, channels, and the ``Authorization: Splunk <token>`` header.
splunkd REST (``rest_url``, Splunk's management port 8089), under ``/services/`` and
``/servicesNS/<owner>/<app>/``
    ``auth/login`` (session keys), Basic authentication and auth tokens (``Splunk``/``Bearer``);
    ``server/info``; ``data/indexes`` and ``data/inputs/http``; search jobs at ``search/jobs`` and
    ``search/v2/jobs`` (``exec_mode`` normal, blocking and oneshot; ``export``; the job entry,
    ``control``, ``results``, ``results_preview`` and ``events`` in JSON, XML or CSV) evaluating a
    small SPL (``golden emulator --help`` lists the commands) over registered datasets; and the KV
    store (``storage/collections/config`` and ``storage/collections/data``). The route table of
    :mod:`dsdl_golden.emulator.rest` is the complete list.

Tests inspect what arrived and inject faults through a control API: Python methods, and the same
over HTTP under ``/__mock__/`` on both ports (``help(dsdl_golden.emulator.control)`` lists the
routes; :class:`ControlClient` calls them)::

    with SplunkEmulator() as splunk:
        splunk.add_hec_token("T", indexes=["telemetry"])
        ...post to splunk.hec_url with verify=splunk.ca_bundle...
        assert splunk.events("telemetry")

``golden emulator`` runs one until stopped, ready for the library's default settings, and
:func:`start_subprocess` runs one for a test in a child process.
"""

from dsdl_golden.emulator.config import EmulatorConfig, HecToken
from dsdl_golden.emulator.emulator import SplunkEmulator
from dsdl_golden.emulator.faults import Fault
from dsdl_golden.emulator.hec import HEC_CODES
from dsdl_golden.emulator.process import ControlClient, ControlError, EmulatorProcess, start_subprocess

__all__ = [
    "HEC_CODES",
    "ControlClient",
    "ControlError",
    "EmulatorConfig",
    "EmulatorProcess",
    "Fault",
    "HecToken",
    "SplunkEmulator",
    "start_subprocess",
]
