"""One way to reach Temporal, shared by the worker, the API and the tools."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter


async def connect(address: str, namespace: str = "default") -> Client:
    # Pydantic models cross the wire on every client, worker and replayer alike.
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
