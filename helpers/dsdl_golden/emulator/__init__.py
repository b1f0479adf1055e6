"""A local Splunk for tests: splunkd REST (search jobs, KV store) and the HTTP Event Collector.

Speaks the wire protocol of ``/work/shared/specs/splunk-protocol.md`` so that the real
``splunk-sdk`` and ordinary HEC clients work against it unchanged, and exposes a control API
(Python methods, and HTTP under ``/__mock__/``) to inspect what arrived and inject faults::

    with SplunkEmulator() as splunk:
        splunk.add_hec_token("T", indexes=["telemetry"])
        ...post to splunk.hec_url with verify=splunk.ca_bundle...
        assert splunk.events("telemetry")
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
