#!/usr/bin/env python3
"""Generates the policy's shared test fixtures from one table of cases.

Outputs (all committed; CI re-runs this script and fails on a diff):
  policy/test_data/requests/<case>.json   AdmissionReview per case
  policy/test_data/sessions/<state>.yml   kwctl replay sessions for the Namespace lookup
  policy/test_data/cases.json            the manifest read by the policy's native tests
  e2e/policy.bats                        the `kwctl run` suite (real kwctl or tgw-kwctl)

Each case names: the request, the settings, the namespace state the policy will observe (or
None when no lookup may happen), whether it is allowed, and a phrase the message must contain.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

GW = "gateway.networking.k8s.io"
XGW = "gateway.networking.x-k8s.io"
TENANT_SA = ("system:serviceaccount:tenant-test:default",
             ["system:serviceaccounts", "system:serviceaccounts:tenant-test", "system:authenticated"])
FLUX = ("system:serviceaccount:cozy-fluxcd:flux",
        ["system:serviceaccounts", "system:serviceaccounts:cozy-fluxcd", "system:authenticated"])
ADMIN = ("kubernetes-admin", ["system:masters", "system:authenticated"])

RESOURCES = {
    "Gateway": "gateways", "ListenerSet": "listenersets", "XListenerSet": "xlistenersets",
    "HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes", "TLSRoute": "tlsroutes",
    "TCPRoute": "tcproutes", "UDPRoute": "udproutes", "Ingress": "ingresses", "Tenant": "tenants",
    "Namespace": "namespaces", "TenantGateway": "tenantgateways", "Package": "packages", "Pod": "pods",
}

# Namespace states the policy can observe through `kubernetes/get_resource`.
NAMESPACE_STATES = {
    "tenant-test": {"labels": {"namespace.cozystack.io/host": "test.example.org",
                               "namespace.cozystack.io/gateway": "tenant-root"}},
    "tenant-test-mixed-case": {"labels": {"namespace.cozystack.io/host": "Test.Example.ORG"}},
    "tenant-test-unlabelled": {"labels": {"kubernetes.io/metadata.name": "tenant-test"}},
    "tenant-test-empty-label": {"labels": {"namespace.cozystack.io/host": ""}},
    "tenant-test-not-found": {"error": "namespaces \"tenant-test\" not found"},
}


class Case:
    def __init__(self, name, kind, version, obj, allowed, phrase=None, *, op="CREATE", ns="tenant-test",
                 old=None, user=TENANT_SA, settings=None, state="tenant-test", title=None):
        self.name, self.kind, self.version, self.obj = name, kind, version, obj
        self.allowed, self.phrase, self.op, self.ns, self.old = allowed, phrase, op, ns, old
        self.user, self.settings, self.state = user, settings or {}, state
        self.title = title or name.removeprefix(f"{kind.lower()}-{version}-").replace("-", " ")

    def group(self):
        return {"Ingress": "networking.k8s.io", "Tenant": "apps.cozystack.io", "Namespace": "",
                "TenantGateway": "gateway.cozystack.io", "Package": "cozystack.io", "Pod": "",
                "XListenerSet": XGW}.get(self.kind, GW)


def meta(name, ns="tenant-test", **extra):
    m = {"name": name}
    if ns:
        m["namespace"] = ns
    m.update(extra)
    return {"metadata": m}


def listeners(*hosts):
    out = []
    for i, h in enumerate(hosts):
        entry = {"name": f"listener-{i}", "port": 443 if h else 80, "protocol": "HTTPS" if h else "HTTP"}
        if h:
            entry["hostname"] = h
        out.append(entry)
    return out


def gateway(*hosts, name="gw"):
    return {**meta(name), "spec": {"gatewayClassName": "cilium", "listeners": listeners(*hosts)}}


def listenerset(*hosts, name="ls"):
    return {**meta(name), "spec": {"parentRef": {"name": "gw", "namespace": "tenant-root"}, "listeners": listeners(*hosts)}}


def route(hostnames, name="route", ns="tenant-test"):
    spec = {"parentRefs": [{"name": "cozystack", "namespace": "tenant-root"}],
            "rules": [{"backendRefs": [{"name": "app", "port": 80}]}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {**meta(name, ns), "spec": spec}


def ingress(rules=None, tls=None, default_backend=False, name="ing"):
    spec = {"ingressClassName": "nginx"}
    if rules is not None:
        spec["rules"] = [({"host": h} if h is not None else {}) | {"http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app", "port": {"number": 80}}}}]}}
            for h in rules]
    if tls is not None:
        spec["tls"] = [{"hosts": hosts, "secretName": "tls"} for hosts in tls]
    if default_backend:
        spec["defaultBackend"] = {"service": {"name": "app", "port": {"number": 80}}}
    return {**meta(name), "spec": spec}


def tenant(host, name="alice"):
    spec = {"etcd": False, "gateway": True}
    if host is not None:
        spec["host"] = host
    return {**meta(name, "tenant-root"), "spec": spec}


def namespace(labels, name="tenant-test"):
    return {"metadata": {"name": name, "labels": labels}}


def tgw(apex, attached=None, name="cozystack", ns="tenant-test", cls="cilium", nameserver=None):
    spec = {"apex": apex, "gatewayClassName": cls, "certMode": "http01"}
    if attached is not None:
        spec["attachedNamespaces"] = attached
    if nameserver is not None:
        spec["certMode"] = "dns01"
        spec["dns01"] = {"provider": "rfc2136", "rfc2136": {
            "nameserver": nameserver, "tsigKeyName": "tenant-test", "tsigAlgorithm": "HMACSHA256",
            "tsigSecretSecretRef": {"name": "tsig", "key": "secret"}}}
    return {**meta(name, ns), "spec": spec}


def package(attached):
    return {"metadata": {"name": "cozystack.cozystack-platform"},
            "spec": {"components": {"platform": {"values": {"gateway": {"attachedNamespaces": attached}}}}}}


HOST = "namespace.cozystack.io/host"
GWL = "namespace.cozystack.io/gateway"
ROOT_SETTINGS = {"platformRootHost": "example.org"}

CASES = [
    # Gateway, ListenerSet, XListenerSet listeners (cozystack-behaviour.md §3.1, fail closed)
    Case("gateway-v1-apex-hostnames", "Gateway", "v1", gateway(None, "test.example.org", "harbor.test.example.org", "*.test.example.org"), True),
    Case("gateway-v1-foreign-hostname", "Gateway", "v1", gateway("dashboard.example.org"), False, "must equal test.example.org or end with .test.example.org"),
    Case("gateway-v1-no-dot-boundary", "Gateway", "v1", gateway("eviltest.example.org"), False, "must equal"),
    Case("gateway-v1-parent-wildcard", "Gateway", "v1", gateway("*.example.org"), False, "hostname \"*.example.org\" must equal"),
    Case("gateway-v1-no-hostnames", "Gateway", "v1", gateway(None), True),
    Case("gateway-v1-mixed-case-label", "Gateway", "v1", gateway("A.Test.example.org"), True, state="tenant-test-mixed-case"),
    Case("gateway-v1-unlabelled-namespace", "Gateway", "v1", gateway("a.example.com"), False, "has no namespace.cozystack.io/host label", state="tenant-test-unlabelled"),
    Case("gateway-v1-empty-label", "Gateway", "v1", gateway("a.example.com"), False, "has an empty namespace.cozystack.io/host label", state="tenant-test-empty-label"),
    Case("gateway-v1-namespace-not-found", "Gateway", "v1", gateway("a.test.example.org"), False, "could not be read", state="tenant-test-not-found"),
    Case("gateway-v1-unlabelled-allowed-by-setting", "Gateway", "v1", gateway("a.example.com"), True, settings={"allowGatewayWithoutHostLabel": True}, state="tenant-test-unlabelled"),
    Case("gateway-v1-platform-namespace", "Gateway", "v1", {**gateway("dashboard.example.org"), **meta("gw", "cozy-system")}, True, ns="cozy-system", state=None),
    Case("gateway-v1beta1-apex", "Gateway", "v1beta1", gateway("test.example.org"), True),
    Case("gateway-v1beta1-foreign", "Gateway", "v1beta1", gateway("attacker.com"), False, "must equal"),
    Case("listenerset-v1-apex", "ListenerSet", "v1", listenerset("shop.test.example.org"), True),
    Case("listenerset-v1-foreign", "ListenerSet", "v1", listenerset("shop.example.org"), False, "ListenerSet tenant-test/ls: listener \"listener-0\" hostname \"shop.example.org\" must equal"),
    Case("xlistenerset-v1alpha1-apex", "XListenerSet", "v1alpha1", listenerset("*.test.example.org"), True),
    Case("xlistenerset-v1alpha1-foreign", "XListenerSet", "v1alpha1", listenerset("*.example.org"), False, "must equal"),
    # Routes (§3.4, plus hostname-less routes denied)
    Case("httproute-v1-apex", "HTTPRoute", "v1", route(["harbor.test.example.org", "test.example.org"]), True),
    Case("httproute-v1-foreign", "HTTPRoute", "v1", route(["attacker.com"]), False, "hostnames must equal"),
    Case("httproute-v1-one-foreign", "HTTPRoute", "v1", route(["a.test.example.org", "x.example.org"]), False, "hostname \"x.example.org\" is outside the namespace apex"),
    Case("httproute-v1-no-hostnames", "HTTPRoute", "v1", route(None), False, "spec.hostnames is missing or empty"),
    Case("httproute-v1-empty-hostnames", "HTTPRoute", "v1", route([]), False, "hostnames must equal"),
    Case("httproute-v1-no-hostnames-allowed-by-setting", "HTTPRoute", "v1", route(None), True, settings={"requireRouteHostnames": False}),
    Case("httproute-v1-unlabelled-namespace", "HTTPRoute", "v1", route(["a.test.example.org"]), False, "hostnames must equal", state="tenant-test-unlabelled"),
    Case("httproute-v1-namespace-not-found", "HTTPRoute", "v1", route(["a.test.example.org"]), False, "namespace tenant-test could not be read", state="tenant-test-not-found"),
    Case("httproute-v1-platform-namespace", "HTTPRoute", "v1", route(["dashboard.example.org"], ns="cozy-dashboard"), True, ns="cozy-dashboard", state=None),
    Case("httproute-v1-malformed", "HTTPRoute", "v1", {**meta("route"), "spec": {"hostnames": "a.test.example.org"}}, False, "could not be parsed: spec.hostnames: invalid type: string", state=None),
    Case("httproute-v1-delete", "HTTPRoute", "v1", route(["attacker.com"]), True, op="DELETE", state=None),
    Case("httproute-v1alpha2-unlisted-version", "HTTPRoute", "v1alpha2", route(["attacker.com"]), True, state=None),
    Case("httproute-v1beta1-apex", "HTTPRoute", "v1beta1", route(["*.test.example.org"]), True),
    Case("httproute-v1beta1-foreign", "HTTPRoute", "v1beta1", route(["eviltest.example.org"]), False, "hostnames must equal"),
    Case("grpcroute-v1-apex", "GRPCRoute", "v1", route(["grpc.test.example.org"]), True),
    Case("grpcroute-v1-foreign", "GRPCRoute", "v1", route(["grpc.example.org"]), False, "GRPCRoute hostnames must equal"),
    Case("grpcroute-v1-no-hostnames", "GRPCRoute", "v1", route(None), False, "spec.hostnames is missing or empty"),
    Case("tlsroute-v1alpha2-apex", "TLSRoute", "v1alpha2", route(["db.test.example.org"]), True),
    Case("tlsroute-v1alpha2-foreign", "TLSRoute", "v1alpha2", route(["db.example.org"]), False, "TLSRoute hostnames must equal"),
    Case("tlsroute-v1alpha2-no-hostnames", "TLSRoute", "v1alpha2", route(None), False, "spec.hostnames is missing or empty"),
    Case("tlsroute-v1alpha3-apex", "TLSRoute", "v1alpha3", route(["db.test.example.org"]), True),
    Case("tlsroute-v1alpha3-foreign", "TLSRoute", "v1alpha3", route(["*.example.org"]), False, "hostnames must equal"),
    Case("tlsroute-v1-apex", "TLSRoute", "v1", route(["db.test.example.org"]), True),
    Case("tlsroute-v1-foreign", "TLSRoute", "v1", route(["db.other.org"]), False, "hostnames must equal"),
    Case("tcproute-v1alpha2-tenant", "TCPRoute", "v1alpha2", route(None), False, "TCPRoute is not allowed in tenant namespaces", state=None),
    Case("tcproute-v1-tenant", "TCPRoute", "v1", route(None), False, "route hostnames must equal", state=None),
    Case("tcproute-v1alpha2-allowed-by-setting", "TCPRoute", "v1alpha2", route(None), True, settings={"allowL4RoutesInTenantNamespaces": True}, state=None),
    Case("udproute-v1-tenant", "UDPRoute", "v1", route(None), False, "UDPRoute is not allowed in tenant namespaces", state=None),
    Case("udproute-v1alpha2-platform-namespace", "UDPRoute", "v1alpha2", route(None, ns="cozy-dns"), True, ns="cozy-dns", state=None),
    # Ingress (§3.5)
    Case("ingress-v1-apex-with-tls", "Ingress", "v1", ingress(["harbor.test.example.org"], [["harbor.test.example.org"]]), True, settings=ROOT_SETTINGS),
    Case("ingress-v1-wildcard-in-apex", "Ingress", "v1", ingress(["*.test.example.org"]), True, settings=ROOT_SETTINGS),
    Case("ingress-v1-sibling", "Ingress", "v1", ingress(["dashboard.example.org"]), False, "must be within", settings=ROOT_SETTINGS),
    Case("ingress-v1-tls-host-outside", "Ingress", "v1", ingress(["a.test.example.org"], [["harbor.example.org"]]), False, "spec.tls[0].hosts[0] \"harbor.example.org\" is not allowed", settings=ROOT_SETTINGS),
    Case("ingress-v1-custom-domain", "Ingress", "v1", ingress(["shop.external-probe.invalid"], [["shop.external-probe.invalid"]]), True, settings=ROOT_SETTINGS),
    Case("ingress-v1-custom-domain-without-root", "Ingress", "v1", ingress(["shop.external-probe.invalid"]), False, "must be within"),
    Case("ingress-v1-wildcard-outside-root", "Ingress", "v1", ingress(["*.org"]), False, "a wildcard is only allowed within the namespace apex", settings=ROOT_SETTINGS),
    Case("ingress-v1-rule-without-host", "Ingress", "v1", ingress([None]), False, "spec.rules[0] has no host", settings=ROOT_SETTINGS),
    Case("ingress-v1-default-backend", "Ingress", "v1", ingress(None, None, True), False, "spec.defaultBackend is not allowed", settings=ROOT_SETTINGS),
    Case("ingress-v1-unlabelled-namespace", "Ingress", "v1", ingress(["a.test.example.org"]), False, "must be within", state="tenant-test-unlabelled"),
    # Tenant spec.host (§3.2)
    Case("tenant-create-with-host-by-tenant", "Tenant", "v1alpha1", tenant("foreign.example.org"), False, "spec.host can only be set", ns="tenant-root", state=None),
    Case("tenant-create-with-host-by-flux", "Tenant", "v1alpha1", tenant("alice.example.org"), True, ns="tenant-root", user=FLUX, state=None),
    Case("tenant-create-without-host", "Tenant", "v1alpha1", tenant(None), True, ns="tenant-root", state=None),
    Case("tenant-update-host-unchanged", "Tenant", "v1alpha1", tenant("alice.example.org"), True, op="UPDATE", old=tenant("alice.example.org"), ns="tenant-root", state=None),
    Case("tenant-update-host-changed-by-tenant", "Tenant", "v1alpha1", tenant("bob.example.org"), False, "spec.host can only be set", op="UPDATE", old=tenant("alice.example.org"), ns="tenant-root", state=None),
    Case("tenant-update-host-cleared-by-tenant", "Tenant", "v1alpha1", tenant(""), False, "spec.host can only be set", op="UPDATE", old=tenant("alice.example.org"), ns="tenant-root", state=None),
    Case("tenant-update-host-changed-by-admin", "Tenant", "v1alpha1", tenant("bob.example.org"), True, op="UPDATE", old=tenant("alice.example.org"), ns="tenant-root", user=ADMIN, state=None),
    Case("tenant-create-invalid-host-by-admin", "Tenant", "v1alpha1", tenant("Alice.Example.org"), False, "spec.host can only be set to a valid lowercase DNS name", ns="tenant-root", user=ADMIN, state=None),
    # Namespace labels (§3.3, gateway label included)
    Case("namespace-host-label-changed-by-tenant", "Namespace", "v1", namespace({HOST: "evil.example.org"}), False, "immutable", op="UPDATE", old=namespace({HOST: "test.example.org"}), ns="", state=None),
    Case("namespace-host-label-removed-by-tenant", "Namespace", "v1", namespace({}), False, "immutable", op="UPDATE", old=namespace({HOST: "test.example.org"}), ns="", state=None),
    Case("namespace-host-label-reapplied-by-tenant", "Namespace", "v1", namespace({HOST: "test.example.org", "team": "a"}), True, op="UPDATE", old=namespace({HOST: "test.example.org"}), ns="", state=None),
    Case("namespace-gateway-label-added-by-tenant", "Namespace", "v1", namespace({GWL: "tenant-root"}), False, "label namespace.cozystack.io/gateway is immutable", op="UPDATE", old=namespace({}), ns="", state=None),
    Case("namespace-created-with-host-by-flux", "Namespace", "v1", namespace({HOST: "test.example.org", GWL: "tenant-root"}), True, ns="", user=FLUX, state=None),
    Case("namespace-host-label-changed-by-admin", "Namespace", "v1", namespace({HOST: "new.example.org"}), True, op="UPDATE", old=namespace({HOST: "test.example.org"}), ns="", user=ADMIN, state=None),
    Case("namespace-custom-protected-label", "Namespace", "v1", namespace({"example.com/team": "b"}), False, "label example.com/team is immutable", op="UPDATE", old=namespace({"example.com/team": "a"}), ns="", settings={"protectedNamespaceLabels": ["example.com/team"]}, state=None),
    # TenantGateway: apex within the namespace apex; attachedNamespaces never lists a tenant
    # namespace, and only trusted callers set or extend it; nameserver and GatewayClass by identity
    Case("tenantgateway-apex-within", "TenantGateway", "v1alpha1", tgw("shop.test.example.org"), True),
    Case("tenantgateway-apex-outside", "TenantGateway", "v1alpha1", tgw("example.org"), False, "spec.apex \"example.org\" must equal test.example.org"),
    Case("tenantgateway-tenant-attached", "TenantGateway", "v1alpha1", tgw("test.example.org", ["tenant-alice"]), False, "spec.attachedNamespaces must not contain any tenant namespace", state=None),
    Case("tenantgateway-tenant-attached-allowed-by-setting", "TenantGateway", "v1alpha1", tgw("test.example.org", ["tenant-alice"]), True, user=ADMIN, settings={"forbidTenantAttachedNamespaces": False}),
    Case("tenantgateway-attached-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", ["cozy-newapp"]), False, "TenantGateway tenant-test/cozystack: spec.attachedNamespaces can only be set or extended by trusted callers (groups system:masters", state=None),
    Case("tenantgateway-attached-by-flux", "TenantGateway", "v1alpha1", tgw("test.example.org", ["cozy-newapp"]), True, user=FLUX),
    Case("tenantgateway-attached-by-admin", "TenantGateway", "v1alpha1", tgw("test.example.org", ["cozy-newapp"]), True, user=ADMIN),
    Case("tenantgateway-attached-unchanged-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", ["cozy-newapp"]), True, op="UPDATE", old=tgw("test.example.org", ["cozy-newapp"])),
    Case("tenantgateway-attached-extended-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", ["cozy-newapp", "cozy-other"]), False, "request user is system:serviceaccount:tenant-test:default, who adds \"cozy-other\"", op="UPDATE", old=tgw("test.example.org", ["cozy-newapp"]), state=None),
    Case("tenantgateway-attached-reduced-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", ["cozy-newapp"]), True, op="UPDATE", old=tgw("test.example.org", ["cozy-newapp", "cozy-other"])),
    Case("tenantgateway-nameserver-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", nameserver="10.96.0.10:53"), False, "spec.dns01.rfc2136.nameserver can only be set or changed by trusted callers", state=None),
    Case("tenantgateway-nameserver-by-flux", "TenantGateway", "v1alpha1", tgw("test.example.org", nameserver="ns1.example.net:53"), True, user=FLUX),
    Case("tenantgateway-nameserver-unchanged-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", nameserver="ns1.example.net:53"), True, op="UPDATE", old=tgw("test.example.org", nameserver="ns1.example.net:53")),
    Case("tenantgateway-gatewayclass-other-by-tenant", "TenantGateway", "v1alpha1", tgw("test.example.org", cls="internal-lb"), False, "spec.gatewayClassName \"internal-lb\" is not in allowedGatewayClasses (cilium)", state=None),
    Case("tenantgateway-gatewayclass-other-by-admin", "TenantGateway", "v1alpha1", tgw("test.example.org", cls="internal-lb"), True, user=ADMIN),
    Case("tenantgateway-gatewayclass-allowed-by-setting", "TenantGateway", "v1alpha1", tgw("test.example.org", cls="envoy"), True, settings={"allowedGatewayClasses": ["cilium", "envoy"]}),
    # Package: the platform Gateway's attachedNamespaces, same two rules
    Case("package-tenant-attached", "Package", "v1alpha1", package(["cozy-dashboard", "tenant-alice"]), False, "must not contain any tenant namespace", ns="", user=ADMIN, state=None),
    Case("package-platform-attached", "Package", "v1alpha1", package(["cozy-dashboard"]), True, ns="", user=ADMIN, state=None),
    Case("package-attached-by-tenant", "Package", "v1alpha1", package(["cozy-dashboard"]), False, "Package cozystack.cozystack-platform: spec.components.platform.values.gateway.attachedNamespaces can only be set or extended by trusted callers", ns="", state=None),
    Case("package-attached-by-flux", "Package", "v1alpha1", package(["cozy-dashboard"]), True, ns="", user=FLUX, state=None),
    Case("package-attached-unchanged-by-tenant", "Package", "v1alpha1", package(["cozy-dashboard"]), True, op="UPDATE", old=package(["cozy-dashboard"]), ns="", state=None),
    Case("package-attached-extended-by-tenant", "Package", "v1alpha1", package(["cozy-dashboard", "cozy-newapp"]), False, "who adds \"cozy-newapp\"", op="UPDATE", old=package(["cozy-dashboard"]), ns="", state=None),
    # Not guarded
    Case("pod-unrelated", "Pod", "v1", {**meta("p"), "spec": {"containers": [{"name": "c", "image": "x"}]}}, True, state=None),
]


def admission_review(c):
    group, version, kind = c.group(), c.version, c.kind
    obj = dict(c.obj)
    api_version = f"{group}/{version}" if group else version
    if c.kind != "Namespace" and "metadata" in obj:
        obj = {"apiVersion": api_version, "kind": kind, **obj}
    elif c.kind == "Namespace":
        obj = {"apiVersion": "v1", "kind": "Namespace", **obj}
    name = obj.get("metadata", {}).get("name", "")
    old = None
    if c.old is not None:
        old = {"apiVersion": api_version, "kind": kind, **c.old}
    request = {
        "uid": f"tgw-{c.name}",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": RESOURCES[kind]},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": RESOURCES[kind]},
        "name": name,
        "operation": c.op,
        "userInfo": {"username": c.user[0], "groups": c.user[1]},
        "object": None if c.op == "DELETE" else obj,
        "oldObject": obj if c.op == "DELETE" else old,
        "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" if c.op == "CREATE" else "UpdateOptions"},
    }
    if c.ns:
        request["namespace"] = c.ns
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def session_yaml(state):
    spec = NAMESPACE_STATES[state]
    request = ("    !KubernetesGetResource\n    api_version: v1\n    kind: Namespace\n    name: tenant-test\n"
               "    namespace: null\n    disable_cache: false\n")
    if "error" in spec:
        response = f"    type: Error\n    message: '{spec['error']}'\n"
    else:
        ns = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "tenant-test", "labels": spec["labels"]}}
        payload = json.dumps(ns, separators=(",", ":"))
        response = f"    type: Success\n    payload: '{payload}'\n"
    return f"# Replay session: Namespace tenant-test, state {state}\n---\n- type: Exchange\n  request: |\n{request}  response:\n{response}"


def bats_case(c):
    args = [f"-r {rel('requests', c.name + '.json')}", f"--settings-json '{json.dumps(c.settings, separators=(',', ':'))}'"]
    if c.state:
        args.append(f"--allow-context-aware --replay-host-capabilities-interactions {rel('sessions', c.state + '.yml')}")
    verdict = "accepted" if c.allowed else "rejected"
    lines = [f'@test "{c.kind} {c.version}: {c.title} is {verdict}" {{', f"  run_policy {' '.join(args)}"]
    if c.allowed:
        lines.append("  assert_accepted")
    else:
        phrase = c.phrase.replace("'", "'\\''")
        lines.append(f"  assert_rejected '{phrase}'")
    lines.append("}")
    return "\n".join(lines)


def rel(kind, name):
    return f"policy/test_data/{kind}/{name}"


BATS_HEADER = """#!/usr/bin/env bats
# GENERATED by policy/test_data/generate.py from its case table; edit the table, not this file.
# Runs the annotated policy through `kwctl run`: a real kwctl when KWCTL points at one, the
# project's compatible runner (tgw-kwctl) otherwise. Only flags and outputs real kwctl has.

load policy_helpers

"""

BATS_FOOTER = """
@test "settings: an unknown key is refused before any request is evaluated" {
  run "$KWCTL" run -r policy/test_data/requests/pod-unrelated.json --settings-json '{"tenantPrefix":"x"}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown field"* ]]
}

@test "settings: a wrong type is refused with the key named" {
  run "$KWCTL" run -r policy/test_data/requests/pod-unrelated.json --settings-json '{"requireRouteHostnames":"yes"}' "$POLICY"
  echo "output = ${output}"
  [ "$status" -ne 0 ]
  [[ "$output" == *"requireRouteHostnames"* ]]
}

@test "settings: a YAML settings file is honoured" {
  run_policy -r policy/test_data/requests/httproute-v1-no-hostnames.json -s policy/test_data/settings/route-hostnames-optional.yml --allow-context-aware --replay-host-capabilities-interactions policy/test_data/sessions/tenant-test.yml
  assert_accepted
}

@test "replay: a session that does not match the lookup is reported, not trapped" {
  run_policy -r policy/test_data/requests/httproute-v1-apex.json --settings-json '{}' --allow-context-aware --replay-host-capabilities-interactions policy/test_data/sessions/other-namespace.yml
  assert_rejected 'could not be read'
}

@test "context-aware: without --allow-context-aware the lookup is refused and the route is denied" {
  run_policy -r policy/test_data/requests/httproute-v1-apex.json --settings-json '{}' --replay-host-capabilities-interactions policy/test_data/sessions/tenant-test.yml
  assert_rejected 'could not be read'
}
"""

OTHER_NS_SESSION = """# Replay session recorded for another namespace: the policy's lookup does not match it
---
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: tenant-other
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"tenant-other","labels":{"namespace.cozystack.io/host":"other.example.org"}}}'
"""


def main():
    names = [c.name for c in CASES]
    if len(names) != len(set(names)):
        sys.exit("duplicate case names")
    for d in ("requests", "sessions", "settings"):
        os.makedirs(os.path.join(HERE, d), exist_ok=True)
    for c in CASES:
        with open(os.path.join(HERE, "requests", c.name + ".json"), "w") as f:
            json.dump(admission_review(c), f, indent=2)
            f.write("\n")
    for state in NAMESPACE_STATES:
        with open(os.path.join(HERE, "sessions", state + ".yml"), "w") as f:
            f.write(session_yaml(state))
    with open(os.path.join(HERE, "sessions", "other-namespace.yml"), "w") as f:
        f.write(OTHER_NS_SESSION)
    with open(os.path.join(HERE, "settings", "route-hostnames-optional.yml"), "w") as f:
        f.write("# Settings variant: hostname-less routes allowed in tenant namespaces\nrequireRouteHostnames: false\n")
    manifest = [{
        "name": c.name, "request": rel("requests", c.name + ".json"), "settings": c.settings,
        "namespace": None if c.state is None else {"state": c.state, **NAMESPACE_STATES[c.state]},
        "session": None if c.state is None else rel("sessions", c.state + ".yml"),
        "allowed": c.allowed, "messageContains": c.phrase,
    } for c in CASES]
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    with open(os.path.join(ROOT, "e2e", "policy.bats"), "w") as f:
        f.write(BATS_HEADER + "\n\n".join(bats_case(c) for c in CASES) + "\n" + BATS_FOOTER)
    print(f"generated {len(CASES)} cases")


if __name__ == "__main__":
    main()
