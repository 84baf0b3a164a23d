"""NetworkPolicy for an app's namespace: deny everything, then allow what the resource graph says each pod
needs. Nothing here knows a resource type; each allow is derived from what the rendered objects and the plan
show, so a new type gets its policy from the same facts:

- ingress from the Gateway's namespace to a workload that a route object (HTTPRoute, GRPCRoute, Ingress ...) sends
  traffic to;
- a workload that depends on another (a resource whose plain outputs name the other's Service) may reach it on
  its service ports, and the other admits it;
- a dependency that runs in the namespace (pods in its rule's manifests) admits the workloads (and the resources)
  that use it, and they may reach it;
- a dependency provisioned with Terraform lives outside the cluster, at an address unknown when rendering: egress
  on its `port` output, else on 443;
- every pod may ask the cluster DNS.
"""

from __future__ import annotations

from typing import Any

from generator.create.identity import aws_statements, gcp_bindings
from generator.create.pods import RESOURCE_LABEL, pod_template
from generator.create.resources import Provisioned
from generator.match.plan import Plan
from generator.read.models import Workload

ROUTE_KINDS = {"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}
_DNS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}

# The EKS Pod Identity agent, on every node's link-local address: where the SDK trades the pod's token for the
# role's credentials.
_POD_IDENTITY_AGENT = {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}

# GKE's metadata server, where Workload Identity hands the pod its Google credentials.
_GKE_METADATA = {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}

Selector = dict[str, str]


def _resource_pods(provisioned: dict[str, Provisioned], serving: bool) -> dict[str, Selector]:
    """Node key -> the selector of the pods it runs in the namespace: its labelled pod templates (only long-running
    ones when `serving`: a Job is a client, never a destination), or the pods an operator makes from its custom
    resources (the rule's `network.pods`)."""
    out: dict[str, Selector] = {}
    for key, p in provisioned.items():
        declared = p.network.get("pods")
        kinds = {m.get("kind") for m in p.manifests if pod_template(m) is not None}
        if declared:
            out[key] = dict(declared)
        elif kinds - ({"Job", "CronJob"} if serving else set()):
            out[key] = {RESOURCE_LABEL: p.node.name}
    return out


def network_policies(
    plan: Plan, provisioned: dict[str, Provisioned], selectors: dict[str, Selector], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """`selectors`: each workload's pod selector labels."""
    ns = plan.env["namespace"]
    pods = _resource_pods(provisioned, serving=True)
    routed = _routed(provisioned)
    out = [
        _policy("default-deny", ns, labels, {}, ingress=[], egress=[]),
        _policy("allow-dns", ns, labels, {}, egress=[_DNS]),
    ]
    for w in plan.workloads:
        ingress = [_from_gateway(plan, w)] if w.name in routed and plan.env.get("gateway") else []
        ingress += [
            {"from": [{"podSelector": {"matchLabels": selectors[other.name]}}], "ports": _ports(w)}
            for other in plan.workloads
            if w.name in _workload_targets(plan, other, provisioned)
        ]
        egress = [e for r in w.resources for e in _egress(provisioned, pods, plan.bindings[(w.name, r.name)])]
        egress += [
            {"to": [{"podSelector": {"matchLabels": selectors[t]}}], "ports": _ports(by_name(plan, t))}
            for t in sorted(_workload_targets(plan, w, provisioned))
        ]
        if aws_statements(plan, w, provisioned):
            egress.append(_POD_IDENTITY_AGENT)
        if gcp_bindings(plan, w, provisioned):
            egress.append(_GKE_METADATA)
        own = {**labels, **selectors[w.name]}
        out.append(_policy(w.name, ns, own, selectors[w.name], ingress=ingress, egress=_unique(egress)))
    clients = _resource_pods(provisioned, serving=False)
    for key in clients:
        out.append(_resource_policy(provisioned, pods, clients, selectors, key, ns, labels))
    return out


def _resource_policy(
    provisioned: dict[str, Provisioned],
    pods: dict[str, Selector],
    clients: dict[str, Selector],
    selectors: dict[str, Selector],
    key: str,
    ns: str,
    labels: dict[str, str],
) -> dict[str, Any]:
    """A dependency running in the namespace admits what uses it (and any peer its rule names, such as the
    operator that manages it), and reaches what it requires."""
    prov = provisioned[key]
    users = [{"podSelector": {"matchLabels": selectors[w]}} for w, _ in prov.node.declared_by]
    users += [
        {"podSelector": {"matchLabels": clients[k]}}
        for k, p in provisioned.items()
        if key in p.node.requires.values() and k in clients
    ]
    peers = _unique(users + list(prov.network.get("from") or []))
    egress = [e for dep in prov.node.requires.values() for e in _egress(provisioned, pods, dep)]
    ingress = [{"from": peers}] if peers and key in pods else []
    return _policy(prov.node.name, ns, labels, clients[key], ingress=ingress, egress=_unique(egress))


def by_name(plan: Plan, name: str) -> Workload:
    return next(w for w in plan.workloads if w.name == name)


def _policy(
    name: str,
    ns: str,
    labels: dict[str, str],
    selector: Selector,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": []}
    for direction, rules in (("Ingress", ingress), ("Egress", egress)):
        if rules is not None:
            spec["policyTypes"].append(direction)
            if rules:
                spec[direction.lower()] = rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    }


def _routed(provisioned: dict[str, Provisioned]) -> set[str]:
    """Service names that route objects send traffic to."""
    names = set()
    for p in provisioned.values():
        for m in p.manifests:
            if m.get("kind") in ROUTE_KINDS:
                for rule in (m.get("spec") or {}).get("rules") or []:
                    names |= {ref["name"] for ref in rule.get("backendRefs") or [] if "name" in ref}
    return names


def _from_gateway(plan: Plan, w: Workload) -> dict[str, Any]:
    gw_ns = plan.env["gateway"].get("namespace") or plan.env["namespace"]
    return {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": gw_ns}}}],
        "ports": _ports(w),
    }


def _ports(w: Workload) -> list[dict[str, Any]]:
    # A policy sees the pod's port (after the Service's translation), so targetPort, not port.
    return _unique([{"protocol": p.protocol, "port": p.target_port} for p in w.ports])


def _workload_targets(plan: Plan, w: Workload, provisioned: dict[str, Provisioned]) -> set[str]:
    """Workloads of the app that `w` depends on: a resource of `w` whose plain outputs name their Service."""
    ns = plan.env["namespace"]
    out = set()
    for r in w.resources:
        values = {str(v) for v in provisioned[plan.bindings[(w.name, r.name)]].outputs.values() if _plain(v)}
        for t in plan.workloads:
            names = {t.name, f"{t.name}.{ns}", f"{t.name}.{ns}.svc", f"{t.name}.{ns}.svc.cluster.local"}
            if t.name != w.name and t.ports and values & names:
                out.add(t.name)
    return out


def _egress(provisioned: dict[str, Provisioned], pods: dict[str, Selector], key: str) -> list[dict[str, Any]]:
    prov = provisioned[key]
    if key in pods:
        return [{"to": [{"podSelector": {"matchLabels": pods[key]}}]}]
    if prov.modules or prov.tf_resources:
        port = prov.outputs.get("port")
        number = int(port) if isinstance(port, int | str) and str(port).isdigit() else 443
        return [{"ports": [{"protocol": "TCP", "port": number}]}]
    # A node that only names things (dns, route, environment values) or mounts (volume) needs no traffic; one
    # that requires others (a topic on a broker) reaches what they reach.
    return [e for dep in prov.node.requires.values() for e in _egress(provisioned, pods, dep)]


def _plain(v: Any) -> bool:
    return isinstance(v, str | int)


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out
