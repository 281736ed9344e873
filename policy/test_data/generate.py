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
    "Issuer": "issuers",
}

TENANT_TEST_LABELS = {"namespace.cozystack.io/host": "test.example.org",
                      "namespace.cozystack.io/gateway": "tenant-root"}
# The Namespaces carrying the host label, as `kubernetes/list_resources_all` returns them (pruned to
# name and labels): tenant-bob owns the custom domain bob-shop.test, tenant-carol a mixed-case one,
# tenant-odd carries a label that is not a valid apex (it owns nothing).
HOST_LABELS = [
    ("tenant-root", "example.org"),
    ("tenant-test", "test.example.org"),
    ("tenant-bob", "bob-shop.test"),
    ("tenant-carol", "Carol-Shop.TEST"),
    ("tenant-odd", "*.odd.test"),
]

# Namespace states the policy can observe: the request's Namespace through
# `kubernetes/get_resource`, then (only for an Ingress host outside the platform apex) the
# Namespaces carrying the host label through `kubernetes/list_resources_all`.
NAMESPACE_STATES = {
    "tenant-test": {"labels": TENANT_TEST_LABELS},
    "tenant-test-with-owners": {"labels": TENANT_TEST_LABELS, "hostLabels": HOST_LABELS},
    "tenant-test-list-forbidden": {"labels": TENANT_TEST_LABELS, "listError": (
        "namespaces is forbidden: User \"system:serviceaccount:kubewarden:policy-server-default\" cannot list "
        "resource \"namespaces\" in API group \"\" at the cluster scope")},
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
                "XListenerSet": XGW, "Issuer": "cert-manager.io"}.get(self.kind, GW)


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


def gateway(*hosts, name="gw", cls="cilium", ns="tenant-test", **extra):
    return {**meta(name, ns), "spec": {"gatewayClassName": cls, "listeners": listeners(*hosts), **extra}}


def listenerset(*hosts, name="ls"):
    return {**meta(name), "spec": {"parentRef": {"name": "gw", "namespace": "tenant-root"}, "listeners": listeners(*hosts)}}


def route(hostnames, name="route", ns="tenant-test"):
    spec = {"parentRefs": [{"name": "cozystack", "namespace": "tenant-root"}],
            "rules": [{"backendRefs": [{"name": "app", "port": 80}]}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {**meta(name, ns), "spec": spec}


def ingress(rules=None, tls=None, default_backend=False, name="ing", annotations=None, ns="tenant-test"):
    spec = {"ingressClassName": "nginx"}
    if rules is not None:
        spec["rules"] = [({"host": h} if h is not None else {}) | {"http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app", "port": {"number": 80}}}}]}}
            for h in rules]
    if tls is not None:
        spec["tls"] = [{"hosts": hosts, "secretName": "tls"} for hosts in tls]
    if default_backend:
        spec["defaultBackend"] = {"service": {"name": "app", "port": {"number": 80}}}
    extra = {"annotations": annotations} if annotations else {}
    return {**meta(name, ns, **extra), "spec": spec}


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


LE_PROD = "https://acme-v02.api.letsencrypt.org/directory"


def issuer(server=LE_PROD, solvers=None, name="le", ns="tenant-test", **other):
    spec = dict(other)
    if server is not None:
        spec["acme"] = {"server": server, "email": "ops@test.example.org",
                        "privateKeySecretRef": {"name": f"{name}-account"},
                        "solvers": solvers if solvers is not None else [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]}
    return {**meta(name, ns), "spec": spec}


def rfc2136_solver(nameserver):
    return {"dns01": {"rfc2136": {"nameserver": nameserver, "tsigKeyName": "tenant-test",
                                  "tsigAlgorithm": "HMACSHA256", "tsigSecretSecretRef": {"name": "tsig", "key": "secret"}}}}


def package(attached):
    return {"metadata": {"name": "cozystack.cozystack-platform"},
            "spec": {"components": {"platform": {"values": {"gateway": {"attachedNamespaces": attached}}}}}}


HOST = "namespace.cozystack.io/host"
GWL = "namespace.cozystack.io/gateway"
ROOT_SETTINGS = {"platformRootHost": "example.org"}
ALIAS = "nginx.ingress.kubernetes.io/server-alias"

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
    # Gateways written directly in tenant namespaces: GatewayClass, addresses and infrastructure
    # are the trusted callers' choice (identity policy)
    Case("gateway-v1-class-other-by-tenant", "Gateway", "v1", gateway("test.example.org", cls="internal-lb"), False, "Gateway tenant-test/gw: spec.gatewayClassName \"internal-lb\" is not in allowedGatewayClasses (cilium); other GatewayClasses can only be chosen by trusted callers", state=None),
    Case("gateway-v1beta1-class-other-by-tenant", "Gateway", "v1beta1", gateway("test.example.org", cls="internal-lb"), False, "is not in allowedGatewayClasses (cilium)", state=None),
    Case("gateway-v1-class-other-by-admin", "Gateway", "v1", gateway("test.example.org", cls="internal-lb"), True, user=ADMIN),
    Case("gateway-v1-class-kept-by-tenant", "Gateway", "v1", gateway("test.example.org", "shop.test.example.org", cls="internal-lb"), True, op="UPDATE", old=gateway("test.example.org", cls="internal-lb")),
    Case("gateway-v1-class-allowed-by-setting", "Gateway", "v1", gateway("test.example.org", cls="envoy"), True, settings={"allowedGatewayClasses": ["cilium", "envoy"]}),
    Case("gateway-v1-class-platform-namespace", "Gateway", "v1", gateway("dashboard.example.org", cls="internal-lb", ns="cozy-system"), True, ns="cozy-system", state=None),
    Case("gateway-v1-addresses-by-tenant", "Gateway", "v1", gateway("test.example.org", addresses=[{"type": "IPAddress", "value": "10.0.0.10"}]), False, "Gateway tenant-test/gw: spec.addresses can only be set or changed by trusted callers", state=None),
    Case("gateway-v1-addresses-by-flux", "Gateway", "v1", gateway("test.example.org", addresses=[{"type": "IPAddress", "value": "10.0.0.10"}]), True, user=FLUX),
    Case("gateway-v1-addresses-unchanged-by-tenant", "Gateway", "v1", gateway("test.example.org", "www.test.example.org", addresses=[{"type": "IPAddress", "value": "10.0.0.10"}]), True, op="UPDATE", old=gateway("test.example.org", addresses=[{"type": "IPAddress", "value": "10.0.0.10"}])),
    Case("gateway-v1-addresses-changed-by-tenant", "Gateway", "v1", gateway("test.example.org", addresses=[{"type": "IPAddress", "value": "10.0.0.11"}]), False, "spec.addresses can only be set or changed by trusted callers", op="UPDATE", old=gateway("test.example.org", addresses=[{"type": "IPAddress", "value": "10.0.0.10"}]), state=None),
    Case("gateway-v1-infrastructure-by-tenant", "Gateway", "v1", gateway("test.example.org", infrastructure={"annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}}), False, "spec.infrastructure can only be set or changed by trusted callers", state=None),
    Case("gateway-v1-infrastructure-cleared-by-tenant", "Gateway", "v1", gateway("test.example.org"), True, op="UPDATE", old=gateway("test.example.org", infrastructure={"labels": {"a": "b"}})),
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
    Case("ingress-v1-custom-domain", "Ingress", "v1", ingress(["shop.external-probe.invalid"], [["shop.external-probe.invalid"]]), True, settings=ROOT_SETTINGS, state="tenant-test-with-owners"),
    Case("ingress-v1-custom-domain-without-root", "Ingress", "v1", ingress(["shop.external-probe.invalid"]), False, "must be within"),
    Case("ingress-v1-wildcard-outside-root", "Ingress", "v1", ingress(["*.org"]), False, "a wildcard is only allowed within the namespace apex", settings=ROOT_SETTINGS),
    Case("ingress-v1-rule-without-host", "Ingress", "v1", ingress([None]), False, "spec.rules[0] has no host", settings=ROOT_SETTINGS),
    Case("ingress-v1-default-backend", "Ingress", "v1", ingress(None, None, True), False, "spec.defaultBackend is not allowed", settings=ROOT_SETTINGS),
    Case("ingress-v1-unlabelled-namespace", "Ingress", "v1", ingress(["a.test.example.org"]), False, "must be within", state="tenant-test-unlabelled"),
    # Ingress: another tenant's custom domain (a host outside the platform apex that another
    # namespace's host label covers), read from the Namespaces carrying the label; fail closed
    Case("ingress-v1-other-tenant-custom-apex", "Ingress", "v1", ingress(["bob-shop.test"]), False, "spec.rules[0].host \"bob-shop.test\" is not allowed (it is within bob-shop.test, the namespace.cozystack.io/host apex of another namespace)", settings=ROOT_SETTINGS, state="tenant-test-with-owners"),
    Case("ingress-v1-other-tenant-custom-subdomain", "Ingress", "v1", ingress(["shop.external-probe.invalid"], [["shop.external-probe.invalid", "www.bob-shop.test"]]), False, "spec.tls[0].hosts[1] \"www.bob-shop.test\" is not allowed (it is within bob-shop.test", settings=ROOT_SETTINGS, state="tenant-test-with-owners"),
    Case("ingress-v1-other-tenant-mixed-case-label", "Ingress", "v1", ingress(["api.carol-shop.test"]), False, "(it is within Carol-Shop.TEST, the namespace.cozystack.io/host apex of another namespace)", settings=ROOT_SETTINGS, state="tenant-test-with-owners"),
    Case("ingress-v1-invalid-label-owns-nothing", "Ingress", "v1", ingress(["www.odd.test"]), True, settings=ROOT_SETTINGS, state="tenant-test-with-owners"),
    Case("ingress-v1-custom-domain-list-forbidden", "Ingress", "v1", ingress(["shop.external-probe.invalid"]), False, "whether another namespace's namespace.cozystack.io/host label covers it is unknown: the Namespaces carrying that label could not be listed (", settings=ROOT_SETTINGS, state="tenant-test-list-forbidden"),
    Case("ingress-v1-in-apex-needs-no-list", "Ingress", "v1", ingress(["shop.test.example.org"]), True, settings=ROOT_SETTINGS, state="tenant-test-list-forbidden"),
    # Ingress annotations: server-alias hosts obey the host rule; snippets and upstream-vhost are
    # refused in tenant namespaces unless allowIngressSnippets
    Case("ingress-v1-server-alias-own", "Ingress", "v1", ingress(["test.example.org"], annotations={ALIAS: "www.test.example.org, shop.test.example.org api.test.example.org"}), True, settings=ROOT_SETTINGS),
    Case("ingress-v1-server-alias-sibling", "Ingress", "v1", ingress(["test.example.org"], annotations={ALIAS: "www.test.example.org,dashboard.example.org"}), False, "Ingress tenant-test/ing: annotation nginx.ingress.kubernetes.io/server-alias \"dashboard.example.org\" is not allowed (it is under the platform apex example.org but outside the namespace apex)", settings=ROOT_SETTINGS),
    Case("ingress-v1-server-alias-other-tenant", "Ingress", "v1", ingress(["test.example.org"], annotations={ALIAS: "www.bob-shop.test"}), False, "annotation nginx.ingress.kubernetes.io/server-alias \"www.bob-shop.test\" is not allowed (it is within bob-shop.test", settings=ROOT_SETTINGS, state="tenant-test-with-owners"),
    Case("ingress-v1-server-alias-without-root", "Ingress", "v1", ingress(["test.example.org"], annotations={ALIAS: "shop.external-probe.invalid"}), False, "annotation nginx.ingress.kubernetes.io/server-alias \"shop.external-probe.invalid\" is not allowed; Ingress hostnames"),
    Case("ingress-v1-server-snippet", "Ingress", "v1", ingress(["test.example.org"], annotations={"nginx.ingress.kubernetes.io/server-snippet": "server_name dashboard.example.org;"}), False, "Ingress tenant-test/ing: annotation nginx.ingress.kubernetes.io/server-snippet is not allowed in tenant namespaces: it injects raw NGINX configuration", settings=ROOT_SETTINGS, state=None),
    Case("ingress-v1-configuration-snippet", "Ingress", "v1", ingress(["test.example.org"], annotations={"nginx.ingress.kubernetes.io/configuration-snippet": "proxy_set_header Host dashboard.example.org;"}), False, "annotation nginx.ingress.kubernetes.io/configuration-snippet is not allowed in tenant namespaces", state=None),
    Case("ingress-v1-stream-snippet", "Ingress", "v1", ingress(["test.example.org"], annotations={"nginx.ingress.kubernetes.io/stream-snippet": "server { listen 8443; }"}), False, "annotation nginx.ingress.kubernetes.io/stream-snippet is not allowed", state=None),
    Case("ingress-v1-upstream-vhost", "Ingress", "v1", ingress(["test.example.org"], annotations={"nginx.ingress.kubernetes.io/upstream-vhost": "dashboard.example.org"}), False, "annotation nginx.ingress.kubernetes.io/upstream-vhost is not allowed in tenant namespaces: it rewrites the Host header", state=None),
    Case("ingress-v1-snippet-allowed-by-setting", "Ingress", "v1", ingress(["test.example.org"], annotations={"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers \"X-Frame-Options: DENY\";"}), True, settings={"allowIngressSnippets": True}),
    Case("ingress-v1-snippet-platform-namespace", "Ingress", "v1", ingress(["dashboard.example.org"], annotations={"nginx.ingress.kubernetes.io/server-snippet": "location /x {}"}, ns="cozy-dashboard"), True, ns="cozy-dashboard", state=None),
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
    # cert-manager Issuers in tenant namespaces: what makes cert-manager contact an address the
    # tenant picks is the trusted callers' choice (identity policy)
    Case("issuer-v1-letsencrypt-by-tenant", "Issuer", "v1", issuer(), True, state=None),
    Case("issuer-v1-selfsigned-by-tenant", "Issuer", "v1", issuer(None, selfSigned={}), True, state=None),
    Case("issuer-v1-nameserver-by-tenant", "Issuer", "v1", issuer(solvers=[rfc2136_solver("10.96.0.10:53")]), False, "Issuer tenant-test/le: spec.acme.solvers[0].dns01.rfc2136.nameserver can only be set or changed by trusted callers", state=None),
    Case("issuer-v1-nameserver-by-controller", "Issuer", "v1", issuer(solvers=[rfc2136_solver("ns1.example.net:53")]), True, user=("system:serviceaccount:cozy-system:tenant-gateway-controller", ["system:serviceaccounts", "system:serviceaccounts:cozy-system", "system:authenticated"]), state=None),
    Case("issuer-v1-nameserver-unchanged-by-tenant", "Issuer", "v1", issuer(solvers=[{"http01": {"ingress": {}}}, rfc2136_solver("ns1.example.net:53")]), True, op="UPDATE", old=issuer(solvers=[rfc2136_solver("ns1.example.net:53")]), state=None),
    Case("issuer-v1-nameserver-added-by-tenant", "Issuer", "v1", issuer(solvers=[rfc2136_solver("ns1.example.net:53"), rfc2136_solver("10.96.0.10:53")]), False, "spec.acme.solvers[1].dns01.rfc2136.nameserver can only be set or changed by trusted callers", op="UPDATE", old=issuer(solvers=[rfc2136_solver("ns1.example.net:53")]), state=None),
    Case("issuer-v1-acme-server-other-by-tenant", "Issuer", "v1", issuer("https://10.0.0.1:14000/dir"), False, "Issuer tenant-test/le: spec.acme.server \"https://10.0.0.1:14000/dir\" is not in allowedAcmeServers", state=None),
    Case("issuer-v1-acme-server-allowed-by-setting", "Issuer", "v1", issuer("https://acme.zerossl.com/v2/DV90"), True, settings={"allowedAcmeServers": ["https://acme.zerossl.com/v2/DV90"]}, state=None),
    Case("issuer-v1-acmedns-by-tenant", "Issuer", "v1", issuer(solvers=[{"dns01": {"acmeDNS": {"host": "http://10.0.0.5:8080", "accountSecretRef": {"name": "acme-dns", "key": "a.json"}}}}]), False, "spec.acme.solvers[0].dns01.acmeDNS.host can only be set or changed by trusted callers", state=None),
    Case("issuer-v1-webhook-by-tenant", "Issuer", "v1", issuer(solvers=[{"dns01": {"webhook": {"groupName": "acme.example.com", "solverName": "internal", "config": {"endpoint": "http://10.0.0.6"}}}}]), False, "spec.acme.solvers[0].dns01.webhook can only be set or changed by trusted callers", state=None),
    Case("issuer-v1-vault-by-tenant", "Issuer", "v1", issuer(None, vault={"server": "http://10.0.0.7:8200", "path": "pki/sign/x", "auth": {"kubernetes": {"role": "r", "serviceAccountRef": {"name": "default"}}}}), False, "spec.vault.server can only be set or changed by trusted callers", state=None),
    Case("issuer-v1-venafi-by-tenant", "Issuer", "v1", issuer(None, venafi={"zone": "z", "tpp": {"url": "https://10.0.0.8/vedsdk", "credentialsRef": {"name": "tpp"}}}), False, "spec.venafi.tpp.url can only be set or changed by trusted callers", state=None),
    Case("issuer-v1-platform-namespace", "Issuer", "v1", issuer(solvers=[rfc2136_solver("10.96.0.10:53")], ns="cozy-cert-manager"), True, ns="cozy-cert-manager", state=None),
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
    out = (f"# Replay session: Namespace tenant-test, state {state}\n---\n"
           f"- type: Exchange\n  request: |\n{request}  response:\n{response}")
    if "hostLabels" in spec or "listError" in spec:
        request = ("    !KubernetesListResourceAll\n    api_version: v1\n    kind: Namespace\n"
                   "    label_selector: namespace.cozystack.io/host\n    field_selector: null\n"
                   "    field_masks:\n    - metadata.labels\n    - metadata.name\n")
        if "listError" in spec:
            message = spec["listError"].replace("'", "''")
            response = f"    type: Error\n    message: '{message}'\n"
        else:
            items = [{"metadata": {"name": name, "labels": {"namespace.cozystack.io/host": host}}}
                     for name, host in spec["hostLabels"]]
            payload = json.dumps({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {}, "items": items},
                                 separators=(",", ":"))
            response = f"    type: Success\n    payload: '{payload}'\n"
        out += f"- type: Exchange\n  request: |\n{request}  response:\n{response}"
    return out


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
