//! Every reason the policy rejects a request. The `Display` text is the message the user sees:
//! it names the object, the offending hostname or label as written, the apex and the rule, and it
//! keeps Cozystack's key phrases (`must equal`, `hostnames must equal`, `must be within`,
//! `spec.host can only be set`, `immutable`).

use thiserror::Error;

use crate::hostname::HostnameError;

/// Why a namespace gives no usable apex.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApexProblem {
    #[error("namespace {namespace} has no {label} label")]
    Missing { namespace: String, label: String },
    #[error("namespace {namespace} has an empty {label} label")]
    Empty { namespace: String, label: String },
    #[error("namespace {namespace} could not be read ({reason}), which counts as having no {label} label")]
    Unreadable {
        namespace: String,
        label: String,
        reason: String,
    },
    #[error("namespace {namespace} label {label}={value:?} is not a valid apex: {reason}")]
    Invalid {
        namespace: String,
        label: String,
        value: String,
        reason: String,
    },
}

/// The rule a hostname broke, phrased per kind family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule(pub String);

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Denial {
    #[error("{0}")]
    MalformedRequest(String),
    #[error("{subject}: the admission request carries no object to check")]
    MissingObject { subject: String },
    #[error("{subject} could not be parsed: {reason}")]
    MalformedObject { subject: String, reason: String },
    #[error("{subject}: {problem}; {rule}")]
    NoApex {
        subject: String,
        problem: ApexProblem,
        rule: Rule,
    },

    #[error(
        "{subject}: listener {listener:?} hostname {hostname:?} must equal {apex} or end with .{apex} \
         (namespace {namespace} carries label {label}={apex})"
    )]
    ListenerOutsideApex {
        subject: String,
        listener: String,
        hostname: String,
        apex: String,
        namespace: String,
        label: String,
    },
    #[error("{subject}: listener {listener:?} hostname {hostname:?} is not a valid hostname ({reason}); {rule}")]
    ListenerInvalid {
        subject: String,
        listener: String,
        hostname: String,
        reason: HostnameError,
        rule: Rule,
    },

    #[error(
        "{subject}: spec.hostnames is missing or empty, so the route would take every hostname its listener \
         accepts; {rule}"
    )]
    RouteWithoutHostnames { subject: String, rule: Rule },
    #[error("{subject}: hostname {hostname:?} is outside the namespace apex; {rule}")]
    RouteOutsideApex {
        subject: String,
        hostname: String,
        rule: Rule,
    },
    #[error("{subject}: hostname {hostname:?} is not a valid hostname ({reason}); {rule}")]
    RouteInvalid {
        subject: String,
        hostname: String,
        reason: HostnameError,
        rule: Rule,
    },
    #[error(
        "{subject}: {kind} is not allowed in tenant namespaces because no hostname can scope it to the tenant: \
         route hostnames must equal the namespace's {label} label or be subdomains of it, and a {kind} has none \
         (namespace {namespace}; setting allowL4RoutesInTenantNamespaces)"
    )]
    L4RouteInTenantNamespace {
        label: String,
        subject: String,
        kind: String,
        namespace: String,
    },

    #[error("{subject}: spec.defaultBackend is not allowed in tenant namespaces (it serves every hostname); {rule}")]
    IngressDefaultBackend { subject: String, rule: Rule },
    #[error("{subject}: {field} has no host; {rule}")]
    IngressRuleWithoutHost { subject: String, field: String, rule: Rule },
    #[error("{subject}: {field} {hostname:?} is not allowed{why}; {rule}")]
    IngressHostNotAllowed {
        subject: String,
        field: String,
        hostname: String,
        why: String,
        rule: Rule,
    },

    #[error(
        "{subject}: {field} {hostname:?} is outside the platform apex, but whether another namespace's {label} label \
         covers it is unknown: the Namespaces carrying that label could not be listed ({reason}; the policy lists them \
         once per Ingress write that names such a host, from policy-server's cache); {rule}"
    )]
    IngressOwnersUnknown {
        subject: String,
        field: String,
        hostname: String,
        label: String,
        reason: String,
        rule: Rule,
    },
    #[error(
        "{subject}: annotation {annotation} is not allowed in tenant namespaces: {why}; ingress-nginx snippet \
         annotations and upstream-vhost need the setting allowIngressSnippets"
    )]
    IngressSnippet {
        subject: String,
        annotation: String,
        why: String,
    },

    #[error(
        "{subject}: tenant.spec.host can only be set or changed by trusted callers ({trusted}); request user is \
         {username} (was {old:?}, requested {new:?}). A tenant with empty spec.host inherits the apex from its \
         parent tenant."
    )]
    TenantHostChange {
        subject: String,
        trusted: String,
        username: String,
        old: String,
        new: String,
    },
    #[error("{subject}: spec.host can only be set to a valid lowercase DNS name; {host:?} is not: {reason}")]
    TenantHostInvalid {
        subject: String,
        host: String,
        reason: String,
    },

    #[error(
        "{subject}: label {label} is immutable once set (was {old}, requested {new}); only trusted callers \
         ({trusted}) may add, change or remove it. Request user: {username}"
    )]
    ProtectedLabelChange {
        subject: String,
        label: String,
        old: String,
        new: String,
        trusted: String,
        username: String,
    },

    #[error(
        "{subject}: {field} must not contain any tenant namespace ({namespace:?} starts with {prefix:?}); use \
         tenant.spec.gateway=true instead of adding a tenant namespace to the publishing Gateway's whitelist"
    )]
    TenantAttachedNamespace {
        subject: String,
        field: String,
        namespace: String,
        prefix: String,
    },
    #[error(
        "{subject}: {field} can only be set or extended by trusted callers ({trusted}); request user is {username}, \
         who adds {added}. A listed namespace may publish routes through the Gateway (the controller gives it the \
         {label} label); removing entries is allowed for anyone"
    )]
    AttachedNamespacesAdded {
        subject: String,
        field: String,
        added: String,
        trusted: String,
        username: String,
        label: String,
    },
    #[error(
        "{subject}: spec.dns01.rfc2136.nameserver can only be set or changed by trusted callers ({trusted}); request \
         user is {username} (was {old:?}, requested {new:?}). cert-manager sends DNS updates to this address from \
         inside the cluster"
    )]
    NameserverChange {
        subject: String,
        trusted: String,
        username: String,
        old: String,
        new: String,
    },
    #[error(
        "{subject}: spec.gatewayClassName {class:?} is not in allowedGatewayClasses ({allowed}); other GatewayClasses \
         can only be chosen by trusted callers ({trusted}). Request user: {username}"
    )]
    GatewayClassNotAllowed {
        subject: String,
        class: String,
        allowed: String,
        trusted: String,
        username: String,
    },
    #[error(
        "{subject}: {field} can only be set or changed by trusted callers ({trusted}) in tenant namespaces; request \
         user is {username}. {why}"
    )]
    GatewayFieldChange {
        subject: String,
        field: String,
        trusted: String,
        username: String,
        why: String,
    },
    #[error(
        "{subject}: {field} can only be set or changed by trusted callers ({trusted}) in tenant namespaces; request \
         user is {username}, who sets {value}. {why}"
    )]
    IssuerAddressChange {
        subject: String,
        field: String,
        value: String,
        trusted: String,
        username: String,
        why: String,
    },
    #[error(
        "{subject}: spec.acme.server {server:?} is not in allowedAcmeServers ({allowed}); other ACME servers can only \
         be set or changed by trusted callers ({trusted}) in tenant namespaces; request user is {username}. \
         cert-manager registers an account and orders certificates at this URL from inside the cluster, and shows \
         the server's answers in the Issuer's status"
    )]
    AcmeServerNotAllowed {
        subject: String,
        server: String,
        allowed: String,
        trusted: String,
        username: String,
    },
    #[error("{subject}: spec.apex is missing; a TenantGateway in a tenant namespace must name an apex within {apex}")]
    TenantGatewayWithoutApex { subject: String, apex: String },
    #[error(
        "{subject}: spec.apex {value:?} must equal {apex} or be a subdomain of it (namespace {namespace} carries \
         label {label}={apex})"
    )]
    TenantGatewayApexOutside {
        subject: String,
        value: String,
        apex: String,
        namespace: String,
        label: String,
    },
    #[error(
        "{subject}: spec.apex {value:?} is not a valid DNS name ({reason}); a TenantGateway's spec.apex must equal \
         {apex} or be a subdomain of it"
    )]
    TenantGatewayApexInvalid {
        apex: String,
        subject: String,
        value: String,
        reason: String,
    },
}
