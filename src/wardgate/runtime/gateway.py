"""`GatewayRuntime`: builds gates and listeners from a loaded config and runs them.

Start-up order: plugins resolved, every listener bound (port 0 allowed), admin
bound, then the ready file is written so supervisors and tests know the ports.
Shutdown: stop accepting, mark not-ready, let plugins drain in-flight commands
until `limits.shutdown_grace`, then cut what is left.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from wardgate.admin.app import HealthState, create_admin_app
from wardgate.admin.resources_api import ResourceEntry, bearer_identity, resources_router
from wardgate.admin.reviews_api import reviews_router
from wardgate.admin.server import AdminServer
from wardgate.audit.setup import EvidenceServices
from wardgate.config.loader import LoadedConfig
from wardgate.config.model import ResourceConfig, parse_listen
from wardgate.credentials.header import HeaderCredentialProvider, header_resolvers
from wardgate.credentials.providers import CredentialServices
from wardgate.eventlog import EventLog
from wardgate.gate.access import AccessRule
from wardgate.gate.resource_gate import CredentialProvider, ResourceGate
from wardgate.gate.session import SessionServices
from wardgate.identity.authenticator import Authenticator
from wardgate.identity.issuers import IdentityServices
from wardgate.metrics import Metrics
from wardgate.plugins import PluginRegistry
from wardgate.policy.catalog import function_source
from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import PolicySwitch, RulePolicy
from wardgate.reviews.setup import build_review_service
from wardgate.runtime.listener import ResourceListener
from wardgate.runtime.masking import masking_engine, masking_services
from wardgate.runtime.reload import ConfigReloader
from wardgate.runtime.tls import server_context
from wardgate.seam import Limits, ListenerContext
from wardgate.store import LazyStore


class GatewayRuntime:
    def __init__(
        self,
        loaded: LoadedConfig,
        plugins: PluginRegistry | None = None,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
    ) -> None:
        self._loaded = loaded
        self._plugins = plugins or PluginRegistry()
        self.metrics = metrics or Metrics()
        logging = loaded.config.logging
        self.log = log or EventLog(level=logging.level, flush_interval=logging.flush_interval)
        self.health = HealthState()
        self._listeners: list[ResourceListener] = []
        self._admin: AdminServer | None = None
        self._classifier = CommandClassifier()  # its fingerprint cache outlives reloads
        self.policy = PolicySwitch(
            RulePolicy(loaded.config.policy, loaded.version, self._classifier)
        )
        config = loaded.config
        self.identity = IdentityServices(
            config.identity.tokens,
            config.identity.oidc,
            self.base_dir,
            metrics=self.metrics,
            log=self.log,
        )
        self.credentials = CredentialServices(
            config.vault, self.base_dir, metrics=self.metrics, log=self.log
        )
        self.masking = masking_engine(config)  # None: no masking rules
        self.state = LazyStore(config.state.url, self.base_dir)
        self.evidence = EvidenceServices.from_config(
            config, self.base_dir, self.state, self.metrics, self.log
        )
        self.reloader = ConfigReloader(
            loaded,
            self.policy,
            self._classifier,
            self.identity.authenticator,
            self.log,
            audit=self.evidence.evidence,
            issuers=self.identity,
        )
        self.reviews = build_review_service(
            config, self.state, self.metrics, self.log, audit=self.evidence.evidence
        )

    @property
    def base_dir(self) -> Path:
        return self._loaded.path.parent

    async def reload(self) -> bool:
        """SIGHUP: re-read the file; swap policy and static tokens, or keep the old ones."""
        return await self.reloader.reload()

    def _credentials(self, resource: ResourceConfig) -> CredentialProvider:
        header = resource.credentials.header
        if header is not None:  # HTTP resources: a header resolved again per session
            resolvers = header_resolvers(self._loaded.config.vault, self.base_dir)
            return HeaderCredentialProvider(header, resolvers)
        return self.credentials.provider(resource)

    def _listener_for(
        self, resource: ResourceConfig, authenticator: Authenticator
    ) -> ResourceListener:
        config = self._loaded.config
        plugin = self._plugins.get(resource.protocol)
        assert plugin is not None  # validated by load_config
        upstream = self._loaded.upstreams[resource.name]
        services = SessionServices(
            resource=resource.name,
            protocol=plugin.name,
            policy=self.policy,
            metrics=self.metrics,
            log=self.log,
            max_statement_chars=config.logging.max_statement_chars,
            evidence=self.evidence.evidence,
            reviews=self.reviews,
            end_at_expiry=config.identity.end_sessions_at_expiry,
        )
        gate = ResourceGate(
            services,
            authenticator,
            self._credentials(resource),
            resource.databases,
            str(getattr(upstream, "database", "") or ""),
            access=AccessRule.from_config(resource.access) if resource.access else None,
        )
        limits = Limits(
            max_message_bytes=config.limits.max_message_bytes,
            handshake_timeout=config.limits.handshake_timeout,
            connect_timeout=config.limits.connect_timeout,
        )
        context = ListenerContext(
            resource=resource.name,
            upstream=upstream,
            gate=gate,
            server_tls=server_context(resource.tls, self.base_dir) if resource.tls else None,
            tls_required=bool(resource.tls and resource.tls.required),
            limits=limits,
            listen_host=parse_listen(resource.listen)[0],
        )
        host, port = parse_listen(resource.listen)
        listener = plugin.create_listener(context)
        if self.masking is not None:
            services.masking = masking_services(
                self.masking, services, listener, plugin.dialect, self.log
            )
        shared = services.masking.catalog if services.masking is not None else None
        services.functions = function_source(
            listener, resource.name, plugin.dialect, self.log, shared
        )
        return ResourceListener(
            resource.name,
            plugin.name,
            listener,
            host,
            port,
            self.metrics,
            self.log,
            reuse_port=resource.reuse_port,
        )

    async def start(self, ready_file: Path | None = None) -> None:
        config = self._loaded.config
        authenticator = self.identity.authenticator
        self.identity.start()
        await self.evidence.start()  # recover the audit chain before any connection
        await self.reviews.start()  # mark reviews a previous run left pending
        for resource in config.resources:
            listener = self._listener_for(resource, authenticator)
            await listener.start()
            self._listeners.append(listener)
            self.log.emit(
                "listening",
                resource=resource.name,
                protocol=resource.protocol,
                address=listener.address,
            )
        host, port = parse_listen(config.admin.listen)
        routers = [resources_router(authenticator, self._resource_catalog)]
        routers += self.evidence.routers(lambda header: bearer_identity(authenticator, header))
        routers.append(
            reviews_router(self.reviews, lambda header: bearer_identity(authenticator, header))
        )
        self._admin = AdminServer(create_admin_app(self.metrics, self.health, routers), host, port)
        self._admin.start()
        self.reviews.bind_url(self._admin.address)
        self.health.listening = True
        self.log.emit("admin_listening", address=self._admin.address)
        if ready_file is not None:
            self._write_ready_file(ready_file)
        self.log.emit("ready", policy_version=self._loaded.version)

    def _resource_catalog(self) -> list[ResourceEntry]:
        by_name = {resource.name: resource for resource in self._loaded.config.resources}
        entries = []
        for listener in self._listeners:
            resource = by_name[listener.resource]
            upstream = self._loaded.upstreams.get(resource.name)
            entries.append(
                ResourceEntry(
                    name=resource.name,
                    protocol=resource.protocol,
                    address=listener.address,
                    database=str(getattr(upstream, "database", "") or ""),
                    tls=resource.tls is not None,
                    tls_required=bool(resource.tls and resource.tls.required),
                    access=AccessRule.from_config(resource.access) if resource.access else None,
                )
            )
        return entries

    def _write_ready_file(self, path: Path) -> None:
        assert self._admin is not None
        payload = {
            "pid": os.getpid(),
            "admin": self._admin.address,
            "resources": {listener.resource: listener.address for listener in self._listeners},
        }
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(payload))
        temporary.replace(path)

    async def shutdown(self, grace: float | None = None) -> None:
        grace = self._loaded.config.limits.shutdown_grace if grace is None else grace
        self.health.draining = True
        self.log.emit("shutting_down", grace=grace)
        for listener in self._listeners:
            listener.stop_accepting()
        await self.reviews.cancel_held()  # held commands get their answer before the drain
        deadline = asyncio.get_running_loop().time() + grace
        await asyncio.gather(*(listener.drain(deadline) for listener in self._listeners))
        if self._admin is not None:
            await self._admin.stop()
        await self.reviews.stop()
        await self.evidence.stop()
        await self.state.close()
        await self.credentials.close()
        await self.identity.close()
        self.log.emit("stopped")
        self.log.flush()  # lines wait for the next loop iteration, and the loop ends soon
