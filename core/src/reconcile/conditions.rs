//! Condition types, reasons and message builders for TenantGateway and route status. Every
//! user-visible status string is produced here so tests can pin it.

/// TenantGateway condition types.
pub mod types {
    /// The kstatus contract (Flux health checks): Cozystack's reasons.
    pub const READY: &str = "Ready";
    /// Mirrors the Gateway's Programmed condition.
    pub const PROGRAMMED: &str = "Programmed";
    /// The Gateway object was rendered and applied.
    pub const GATEWAY_APPLIED: &str = "GatewayApplied";
    /// The per-tenant Issuer is applied and Ready (True/NotRequired in existingSecret).
    pub const ISSUER_READY: &str = "IssuerReady";
    /// Every Certificate this TenantGateway manages is Ready.
    pub const CERTIFICATES_READY: &str = "CertificatesReady";
    /// Every namespace in {own namespace} ∪ attachedNamespaces carries the gateway label.
    pub const NAMESPACES_ATTACHED: &str = "NamespacesAttached";
    /// All wanted listeners fit in the 64-listener limit.
    pub const LISTENER_BUDGET: &str = "ListenerBudget";
    /// Spec and namespace inputs were all usable (invalid entries are listed otherwise).
    pub const INPUTS_VALID: &str = "InputsValid";
    /// Route status entries were written.
    pub const ROUTES_UPDATED: &str = "RouteStatusUpdated";
    /// No route attaches to the plaintext `http` listener by default (Cozystack gap 13).
    pub const PLAINTEXT_ISOLATED: &str = "PlaintextIsolated";
    /// No TLS passthrough listener shares an SNI with a terminate listener (Cozystack gap 12).
    pub const PASSTHROUGH_ISOLATED: &str = "PassthroughIsolated";
    /// The listeners and route status of attached tenant namespaces (never part of `Ready`).
    pub const ATTACHED_READY: &str = "AttachedNamespacesReady";
}

/// Reasons.
pub mod reasons {
    // Ready (Cozystack's)
    pub const RECONCILE_ERROR: &str = "ReconcileError";
    pub const GATEWAY_NOT_ACCEPTED: &str = "GatewayNotAccepted";
    pub const GATEWAY_NOT_PROGRAMMED: &str = "GatewayNotProgrammed";
    pub const LISTENERS_NOT_READY: &str = "ListenersNotReady";
    pub const RECONCILED: &str = "Reconciled";
    // per-concern
    pub const APPLIED: &str = "Applied";
    pub const PROGRAMMED: &str = "Programmed";
    pub const READY: &str = "Ready";
    pub const NOT_READY: &str = "NotReady";
    pub const NOT_REQUIRED: &str = "NotRequired";
    pub const PENDING: &str = "Pending";
    pub const ATTACHED: &str = "Attached";
    pub const ATTACH_CONFLICT: &str = "AttachConflict";
    pub const WITHIN_LIMIT: &str = "WithinLimit";
    pub const LISTENER_LIMIT_EXCEEDED: &str = "ListenerLimitExceeded";
    pub const VALID: &str = "Valid";
    pub const INVALID_INPUTS: &str = "InvalidInputs";
    /// The TenantGateway object does not parse (InputsValid and Ready; it is skipped).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const UPDATED: &str = "Updated";
    pub const GATEWAY_NOT_WRITTEN: &str = "GatewayNotWritten";
    pub const NO_PLAINTEXT_ROUTES: &str = "NoPlaintextRoutes";
    pub const PLAINTEXT_ROUTES: &str = "PlaintextRoutes";
    pub const NO_OVERLAP: &str = "NoOverlap";
    pub const PASSTHROUGH_OVERLAP: &str = "PassthroughOverlap";
    // listener status reasons
    pub const LISTENER_PENDING: &str = "Pending";
    pub const LISTENER_NOT_ACCEPTED: &str = "NotAccepted";
    pub const LISTENER_NOT_PROGRAMMED: &str = "NotProgrammed";
    pub const CERTIFICATE_NOT_READY: &str = "CertificateNotReady";
    // route parent status (Gateway API + ours)
    pub const ROUTE_ACCEPTED: &str = "Accepted";
    pub const NOT_ALLOWED_BY_LISTENERS: &str = "NotAllowedByListeners";
    pub const NO_MATCHING_LISTENER_HOSTNAME: &str = "NoMatchingListenerHostname";
    pub const NO_MATCHING_PARENT: &str = "NoMatchingParent";
    pub const HOSTNAME_CONFLICT: &str = "HostnameConflict";
    pub const HOSTNAME_OUTSIDE_NAMESPACE_APEX: &str = "HostnameOutsideNamespaceApex";
    // (GatewayNotWritten is shared with the GatewayApplied condition.)
}

/// Route condition type.
pub const ROUTE_ACCEPTED_TYPE: &str = "Accepted";

/// Message builders. `tgw` is always `<ns>/<name>`.
pub mod messages {
    pub fn gateway_not_accepted(tgw: &str) -> String {
        format!("Underlying Gateway {tgw} has not been accepted by its controller yet")
    }
    pub fn gateway_not_programmed(tgw: &str) -> String {
        format!("Underlying Gateway {tgw} has not been programmed by its controller yet")
    }
    pub fn listeners_not_ready(tgw: &str) -> String {
        format!("One or more listeners on Gateway {tgw} are not ready")
    }
    pub fn reconciled(tgw: &str, listeners: usize) -> String {
        format!("Gateway {tgw} programmed with {listeners} listeners")
    }
    pub fn route_accepted(tgw: &str) -> String {
        format!("Route attached to TenantGateway {tgw}")
    }
    /// `hosts`: an already bounded list.
    pub fn hostname_conflict(hosts: &str, tgw: &str) -> String {
        format!("Hostname(s) {hosts} already claimed by another route on TenantGateway {tgw}")
    }
    /// `refused`: an already bounded list of `<hostname> <why>`.
    pub fn hostname_outside_namespace_apex(refused: &str, tgw: &str) -> String {
        format!("Hostname(s) refused on TenantGateway {tgw}: {refused}")
    }
    pub fn gateway_not_written(tgw: &str, cause: &str) -> String {
        format!("Gateway {tgw} was not written, so no listener serves this route: {cause}")
    }
    /// Appended to a route message when the parentRef also attaches to the `http` listener.
    pub const PLAINTEXT_WARNING: &str = "warning: this parentRef pins neither sectionName nor port, so the route \
         also attaches to the plaintext listener http (port 80) and its hostnames are served without TLS; \
         set port: 443 or an HTTPS sectionName";
    pub fn tgw_gateway_not_written(tgw: &str, cause: &str) -> String {
        format!("Gateway {tgw} was not written, so status.listeners is empty: {cause}")
    }
    /// `items`: an already bounded list of `<namespace>: <what is not ready>`.
    pub fn attached_not_ready(items: &str) -> String {
        format!("Not ready for attached namespaces (their own objects; the TenantGateway stays Ready): {items}")
    }
    /// `routes`: an already bounded list of `ns/name`.
    pub fn plaintext_routes(routes: &str) -> String {
        format!(
            "Routes attached to the plaintext listener http (port 80) because their parentRef pins neither \
             sectionName nor port; their hostnames are served without TLS: {routes}"
        )
    }
    /// `pairs`: an already bounded list of `<tls listener> overlaps <https listener>`.
    pub fn passthrough_overlap(pairs: &str) -> String {
        format!(
            "TLS passthrough and terminate listeners share hostnames on port 443; Cilium >= 1.19.6 marks both \
             Conflicted: {pairs}. Remove the service from tlsPassthroughServices or use certMode http01"
        )
    }
    pub fn no_matching_parent(tgw: &str) -> String {
        format!("No listener of Gateway {tgw} matches the parentRef's sectionName/port")
    }
    pub fn not_allowed_by_listeners(tgw: &str) -> String {
        format!("No listener of Gateway {tgw} selected by this parentRef allows this route's namespace and kind")
    }
    pub fn no_matching_listener_hostname(tgw: &str) -> String {
        format!("No listener of Gateway {tgw} selected by this parentRef matches the route's hostnames")
    }
    pub fn foreign_object(kind: &str, ns: &str, name: &str, tgw_name: &str) -> String {
        format!(
            "{kind} {ns}/{name} exists but is not owned by TenantGateway {tgw_name}; refusing to take over (delete it manually if you want the controller to manage it)"
        )
    }

    /// Longest parse error quoted by [`invalid_spec`].
    pub const MAX_PARSE_ERROR: usize = 1024;

    /// A TenantGateway that does not parse: the parse error, cut to [`MAX_PARSE_ERROR`] bytes.
    pub fn invalid_spec(error: &str) -> String {
        let mut end = error.len().min(MAX_PARSE_ERROR);
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        let cut = if end < error.len() { " …" } else { "" };
        format!(
            "TenantGateway does not parse and is not reconciled: {}{cut}",
            &error[..end]
        )
    }
}

#[cfg(test)]
mod invalid_spec_tests {
    use super::messages::*;

    #[test]
    fn the_parse_error_is_quoted_and_bounded() {
        assert_eq!(
            invalid_spec("spec.certMode: unknown variant `edge`"),
            "TenantGateway does not parse and is not reconciled: spec.certMode: unknown variant `edge`"
        );
        let long = invalid_spec(&"x".repeat(100_000));
        assert!(long.len() < MAX_PARSE_ERROR + 80);
        assert!(long.ends_with(" …"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Operators' runbooks and the e2e suites grep for these.
    #[test]
    fn stable_strings_of_isolation_and_truthful_status() {
        assert_eq!(
            [
                types::PLAINTEXT_ISOLATED,
                types::PASSTHROUGH_ISOLATED,
                types::ATTACHED_READY,
                reasons::GATEWAY_NOT_WRITTEN,
                reasons::HOSTNAME_OUTSIDE_NAMESPACE_APEX,
                reasons::PLAINTEXT_ROUTES,
                reasons::NO_PLAINTEXT_ROUTES,
                reasons::PASSTHROUGH_OVERLAP,
                reasons::NO_OVERLAP,
            ],
            [
                "PlaintextIsolated",
                "PassthroughIsolated",
                "AttachedNamespacesReady",
                "GatewayNotWritten",
                "HostnameOutsideNamespaceApex",
                "PlaintextRoutes",
                "NoPlaintextRoutes",
                "PassthroughOverlap",
                "NoOverlap",
            ]
        );
        assert_eq!(
            messages::gateway_not_written("ns/gw", "boom"),
            "Gateway ns/gw was not written, so no listener serves this route: boom"
        );
    }
}
