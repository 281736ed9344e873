//! Command-line flags and their environment variables (a flag and its variable mean the same;
//! the flag wins when both are given). Defaults are documented in `controller/README.md`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand, ValueEnum};
use tgw_core::attach::AttachedByFormat;
use tgw_core::attach_trust::AttachTrust;
use tgw_core::conflict::PlatformPrefixes;
use tgw_core::consts::TENANT_NAMESPACE_PREFIX;
use tgw_core::decide::Settings;
use tgw_core::keys::{
    ACME_CHALLENGE_NAMESPACE, CONTROLLER_NAME, DEFAULT_ATTACH_OWNER_NAMESPACE, DEFAULT_GATEWAY_CLASS,
    DEFAULT_LISTENERS_PER_NAMESPACE, DEFAULT_RECONCILES_PER_SECOND, FIELD_MANAGER,
};

use crate::leader::LeaderConfig;

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, with the current span's fields (the reconciled object).
    Json,
    /// Human-readable text.
    Text,
}

/// A one-shot mode instead of the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub enum Mode {
    /// Remove our finalizer (gateway.cozystack.io/tenantgateway-cleanup) from every TenantGateway
    /// (or those of --watch-namespace) and exit: run on uninstall, so TenantGateways left behind
    /// can be deleted without the controller. Nothing else is changed. Exit 0 when nothing is left
    /// to release, 1 naming each object that could not be released.
    ReleaseFinalizers,
}

/// Reconciles TenantGateways (gateway.cozystack.io/v1alpha1) into a per-tenant Gateway, Issuer,
/// Certificates, redirect route, namespace labels and route status.
#[derive(Clone, Debug, Parser)]
#[command(name = "tenantgateway-controller", version, about, long_about = None)]
pub struct Config {
    /// controllerName written into route status.parents (a Gateway API controllerName: `<domain>/<path>`).
    #[arg(long, env = "TGW_CONTROLLER_NAME", default_value = CONTROLLER_NAME)]
    pub controller_name: String,

    /// Namespace-name prefixes of platform namespaces (comma-separated; empty: none).
    #[arg(long, env = "TGW_PLATFORM_PREFIXES", default_value = "cozy-", value_delimiter = ',')]
    pub platform_prefixes: Vec<String>,

    /// Namespaces whose TenantGateways may list attachedNamespaces (comma-separated; `*`: any).
    /// Entries on other TenantGateways are refused and reported in NamespacesAttached.
    #[arg(
        long,
        env = "TGW_ATTACH_OWNER_NAMESPACES",
        default_value = DEFAULT_ATTACH_OWNER_NAMESPACE,
        value_delimiter = ','
    )]
    pub attach_owner_namespaces: Vec<String>,

    /// Tenant namespace prefix: attachedNamespaces never attach a tenant namespace.
    #[arg(long, env = "TGW_TENANT_NAMESPACE_PREFIX", default_value = TENANT_NAMESPACE_PREFIX)]
    pub tenant_namespace_prefix: String,

    /// Value written into the cozystack.io/gateway-attached-by namespace annotation: `auto`
    /// (Cozystack's `<ns>` while the TenantGateway is alone in its namespace, so a rollback to
    /// Cozystack's controller cleans up; else `<ns>/<tgw>`), `cozystack` (`<ns>`) or `qualified`.
    #[arg(long, env = "TGW_ATTACHED_BY_FORMAT", default_value = "auto")]
    pub attached_by_format: String,

    /// GatewayClasses whose port-443 listeners all name the kinds HTTPRoute and TLSRoute
    /// (comma-separated; empty: none). Cilium needs identical kinds on one port (cilium#45559);
    /// every other class gets the kinds each listener's protocol serves (HTTPS: HTTPRoute, TLS:
    /// TLSRoute), which stock implementations such as Traefik require.
    #[arg(
        long,
        env = "TGW_UNIFORM_ROUTE_KINDS_CLASSES",
        default_value = DEFAULT_GATEWAY_CLASS,
        value_delimiter = ','
    )]
    pub uniform_route_kinds_classes: Vec<String>,

    /// Per-host listeners one attached namespace may hold on an http01 Gateway (the owner and
    /// platform namespaces are not capped; 0: no cap). The 64 listeners are shared fairly
    /// between namespaces either way: one tenant can only crowd out itself.
    #[arg(long, env = "TGW_LISTENERS_PER_NAMESPACE", default_value_t = DEFAULT_LISTENERS_PER_NAMESPACE)]
    pub listeners_per_namespace: usize,

    /// Delay before retrying a failed reconcile the first time; doubles per consecutive failure
    /// of the same TenantGateway (with jitter) up to --retry-max, reset on success or a spec change.
    #[arg(long, env = "TGW_RETRY_BASE", default_value = "1s", value_parser = parse_duration)]
    pub retry_base: Duration,

    /// Longest delay between retries of a failing TenantGateway.
    #[arg(long, env = "TGW_RETRY_MAX", default_value = "5m", value_parser = parse_duration)]
    pub retry_max: Duration,

    /// Reconcile starts per second over all TenantGateways (0: no cap).
    #[arg(long, env = "TGW_RECONCILES_PER_SECOND", default_value_t = DEFAULT_RECONCILES_PER_SECOND)]
    pub reconciles_per_second: u32,

    /// ACME directory per issuer name, `<letsencrypt-prod|letsencrypt-stage>=<https URL>`
    /// (comma-separated; unset names keep Let's Encrypt's). A platform points TenantGateways at
    /// its own ACME server (step-ca, Pebble, an internal CA, another public CA) without changing
    /// the TenantGateway CRD.
    #[arg(long, env = "TGW_ACME_DIRECTORIES", value_delimiter = ',')]
    pub acme_directories: Vec<String>,

    /// PEM file with the CA bundle of the directories set by --acme-directories (rendered as the
    /// Issuers' spec.acme.caBundle); read at startup.
    #[arg(long, env = "TGW_ACME_CA_BUNDLE_FILE")]
    pub acme_ca_bundle_file: Option<std::path::PathBuf>,

    /// ACME certificate profile per issuer name, `<letsencrypt-prod|letsencrypt-stage>=<profile>`
    /// (comma separated; rendered as the Issuers' spec.acme.profile): e.g. Let's Encrypt's
    /// `shortlived` or `tlsserver`. Unset: the server's default profile.
    #[arg(long, env = "TGW_ACME_PROFILES", value_delimiter = ',')]
    pub acme_profiles: Vec<String>,

    /// Namespace of the ACME HTTP-01 challenge solvers (cert-manager's namespace).
    #[arg(long, env = "TGW_ACME_CHALLENGE_NAMESPACE", default_value = ACME_CHALLENGE_NAMESPACE)]
    pub acme_challenge_namespace: String,

    /// Server-side apply field manager of every owned-object write (Gateway, Issuer, Certificates,
    /// redirect route; non-empty).
    #[arg(long, env = "TGW_FIELD_MANAGER", default_value = FIELD_MANAGER)]
    pub field_manager: String,

    /// Only reconcile TenantGateways of this namespace (empty: all namespaces).
    #[arg(long, env = "TGW_WATCH_NAMESPACE", default_value = "", global = true)]
    pub watch_namespace: String,

    /// Elect a leader on a coordination.k8s.io/v1 Lease; only the leader reconciles and writes.
    #[arg(
        long,
        env = "TGW_LEADER_ELECTION",
        default_value = "false",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new(),
    )]
    pub leader_election: bool,

    /// Namespace of the Lease (default: the pod's service-account namespace).
    #[arg(long, env = "TGW_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,

    /// Name of the Lease.
    #[arg(
        long,
        env = "TGW_LEADER_ELECTION_LEASE_NAME",
        default_value = "tenant-gateway-controller"
    )]
    pub leader_election_lease_name: String,

    /// How long a Lease is valid without renewal; a standby takes over after this.
    #[arg(long, env = "TGW_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// How long the leader keeps failing to renew before it stops reconciling.
    #[arg(long, env = "TGW_LEADER_ELECTION_RENEW_DEADLINE", default_value = "10s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,

    /// Interval between acquire/renew attempts.
    #[arg(long, env = "TGW_LEADER_ELECTION_RETRY_PERIOD", default_value = "2s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,

    /// Holder identity in the Lease (default: $HOSTNAME, else a random name).
    #[arg(long, env = "TGW_POD_NAME")]
    pub pod_name: Option<String>,

    /// Listen address of /metrics, /healthz and /readyz.
    #[arg(long, env = "TGW_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Log format; the filter comes from RUST_LOG (default `info`).
    #[arg(long, env = "TGW_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,

    /// Run a one-shot mode instead of the controller.
    #[command(subcommand)]
    pub mode: Option<Mode>,
}

const SA_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

impl Config {
    /// Parses `args` (the first is the program name) and the environment, as `main` does.
    pub fn try_from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Config::try_parse_from(args)
    }

    /// Checks what clap cannot: values fixed by tgw-core, unsupported options, timing order.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            controller_name_ok(&self.controller_name),
            "--controller-name/TGW_CONTROLLER_NAME={:?} must be a domain-prefixed path such as \
             {CONTROLLER_NAME:?} (Gateway API controllerName)",
            self.controller_name
        );
        anyhow::ensure!(
            !self.field_manager.trim().is_empty(),
            "--field-manager/TGW_FIELD_MANAGER is empty"
        );
        let ns = self.watch_namespace.trim();
        anyhow::ensure!(
            ns.is_empty() || tgw_core::dns::is_dns_label(ns),
            "--watch-namespace/TGW_WATCH_NAMESPACE={ns:?} is not a namespace name"
        );
        for o in &self.attach_owner_namespaces {
            let o = o.trim();
            anyhow::ensure!(
                o.is_empty() || o == "*" || tgw_core::dns::is_dns_label(o),
                "--attach-owner-namespaces/TGW_ATTACH_OWNER_NAMESPACES entry {o:?} is not a namespace name or *"
            );
        }
        anyhow::ensure!(
            AttachedByFormat::parse(&self.attached_by_format).is_some(),
            "--attached-by-format/TGW_ATTACHED_BY_FORMAT={:?} must be auto, cozystack or qualified",
            self.attached_by_format
        );
        anyhow::ensure!(
            !self.tenant_namespace_prefix.trim().is_empty(),
            "--tenant-namespace-prefix/TGW_TENANT_NAMESPACE_PREFIX is empty"
        );
        self.acme()?;
        anyhow::ensure!(
            !self.retry_base.is_zero() && self.retry_base <= self.retry_max,
            "--retry-base ({:?}) must be positive and at most --retry-max ({:?})",
            self.retry_base,
            self.retry_max
        );
        anyhow::ensure!(
            !self.acme_challenge_namespace.is_empty(),
            "--acme-challenge-namespace is empty"
        );
        if self.leader_election {
            let (d, r, p) = (
                self.leader_election_lease_duration,
                self.leader_election_renew_deadline,
                self.leader_election_retry_period,
            );
            anyhow::ensure!(!p.is_zero(), "leader election: retry period must be positive");
            anyhow::ensure!(
                d > r && r > p,
                "leader election: need lease duration ({d:?}) > renew deadline ({r:?}) > retry period ({p:?})"
            );
            anyhow::ensure!(d.as_secs() >= 1, "leader election: lease duration must be at least 1s");
            anyhow::ensure!(
                !self.leader_election_lease_name.is_empty(),
                "leader election: lease name is empty"
            );
        }
        Ok(())
    }

    /// Non-empty, trimmed prefixes.
    pub fn platform_prefixes(&self) -> PlatformPrefixes {
        PlatformPrefixes(
            self.platform_prefixes
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    /// The ACME directories (defaults overridden by --acme-directories, with the CA bundle file).
    pub fn acme(&self) -> anyhow::Result<tgw_core::acme::Directories> {
        let bundle = match &self.acme_ca_bundle_file {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("--acme-ca-bundle-file {}: {e}", path.display()))?;
                anyhow::ensure!(
                    pem.contains("-----BEGIN CERTIFICATE-----"),
                    "--acme-ca-bundle-file {}: no PEM certificate in it",
                    path.display()
                );
                Some(pem)
            }
            None => None,
        };
        Ok(tgw_core::acme::parse(&self.acme_directories, bundle.as_deref())?.with_profiles(&self.acme_profiles)?)
    }

    /// Settings for tgw-core's decisions.
    pub fn settings(&self) -> Settings {
        let ns = self.watch_namespace.trim();
        Settings {
            platform: self.platform_prefixes(),
            challenge_namespace: self.acme_challenge_namespace.clone(),
            controller_name: self.controller_name.clone(),
            field_manager: self.field_manager.clone(),
            watch_namespace: (!ns.is_empty()).then(|| ns.to_owned()),
            attach: AttachTrust {
                owner_namespaces: self
                    .attach_owner_namespaces
                    .iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            },
            tenant_prefix: self.tenant_namespace_prefix.clone(),
            attached_by: AttachedByFormat::parse(&self.attached_by_format).unwrap_or_default(),
            uniform_kinds_classes: self
                .uniform_route_kinds_classes
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            listeners_per_namespace: self.listeners_per_namespace,
            retry: tgw_core::backoff::RetryPolicy {
                base: self.retry_base,
                max: self.retry_max,
            },
            reconciles_per_second: self.reconciles_per_second,
            acme: self.acme().unwrap_or_default(),
        }
    }

    /// Holder identity: --pod-name, else $HOSTNAME, else `tgw-<pid>-<nanos>`.
    pub fn identity(&self) -> String {
        if let Some(p) = self.pod_name.as_deref().filter(|p| !p.is_empty()) {
            return p.to_owned();
        }
        if let Ok(h) = std::env::var("HOSTNAME")
            && !h.is_empty()
        {
            return h;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("tgw-{}-{nanos:x}", std::process::id())
    }

    /// Leader-election settings, `None` when disabled. The namespace defaults to the pod's
    /// service-account namespace.
    pub fn leader(&self) -> anyhow::Result<Option<LeaderConfig>> {
        if !self.leader_election {
            return Ok(None);
        }
        let namespace = match self.leader_election_namespace.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => std::fs::read_to_string(SA_NAMESPACE_FILE)
                .map(|s| s.trim().to_owned())
                .map_err(|e| {
                    anyhow::anyhow!(
                        "leader election: set --leader-election-namespace/TGW_LEADER_ELECTION_NAMESPACE \
                     (no {SA_NAMESPACE_FILE}: {e})"
                    )
                })?,
        };
        Ok(Some(LeaderConfig {
            namespace,
            lease_name: self.leader_election_lease_name.clone(),
            identity: self.identity(),
            lease_duration: self.leader_election_lease_duration,
            renew_deadline: self.leader_election_renew_deadline,
            retry_period: self.leader_election_retry_period,
        }))
    }
}

/// Parses Go-style durations as the chart writes them: `15s`, `500ms`, `1m30s`, `2h`; a bare
/// number means seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("invalid duration {s:?}: expected a number at {rest:?}"));
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("invalid duration {s:?}: missing unit (ms, s, m, h)")),
            u => return Err(format!("invalid duration {s:?}: unknown unit {u:?} (ms, s, m, h)")),
        };
        total += Duration::from_secs_f64(value * scale);
    }
    Ok(total)
}

/// A Gateway API controllerName: `<domain>/<path>` (the CRD pattern, simplified).
fn controller_name_ok(name: &str) -> bool {
    match name.split_once('/') {
        Some((domain, path)) => {
            !path.is_empty()
                && !path.contains(char::is_whitespace)
                && tgw_core::hostname::Hostname::parse(domain).is_ok_and(|h| !h.is_wildcard())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("tgw").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        // Only runs meaningfully without TGW_* in the test environment.
        if std::env::vars().any(|(k, _)| k.starts_with("TGW_")) {
            return;
        }
        let c = parse(&[]).expect("defaults parse");
        assert_eq!(c.controller_name, CONTROLLER_NAME);
        assert_eq!(c.platform_prefixes().0, vec!["cozy-".to_owned()]);
        assert_eq!(c.acme_challenge_namespace, "cozy-cert-manager");
        assert_eq!(c.field_manager, "tenantgateway-controller");
        assert!(!c.leader_election);
        assert_eq!(c.leader_election_lease_name, "tenant-gateway-controller");
        assert_eq!(c.leader_election_lease_duration, Duration::from_secs(15));
        assert_eq!(c.leader_election_renew_deadline, Duration::from_secs(10));
        assert_eq!(c.leader_election_retry_period, Duration::from_secs(2));
        assert_eq!(c.metrics_addr, "0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(c.log_format, LogFormat::Json);
        c.validate().expect("defaults are valid");
        assert_eq!(c.settings().challenge_namespace, "cozy-cert-manager");
        assert_eq!(c.settings().attach, AttachTrust::default());
    }

    #[test]
    fn release_finalizers_mode_takes_the_watch_namespace_before_or_after_it() {
        let c = parse(&["release-finalizers"]).expect("parses");
        assert_eq!(c.mode, Some(Mode::ReleaseFinalizers));
        let c = parse(&["release-finalizers", "--watch-namespace", "tenant-root"]).expect("parses");
        assert_eq!(
            (c.mode, c.watch_namespace.as_str()),
            (Some(Mode::ReleaseFinalizers), "tenant-root")
        );
        let c = parse(&["--watch-namespace", "tenant-a", "release-finalizers"]).expect("parses");
        assert_eq!(
            (c.mode, c.watch_namespace.as_str()),
            (Some(Mode::ReleaseFinalizers), "tenant-a")
        );
        assert_eq!(parse(&["--log-format", "text"]).expect("parses").mode, None);
        assert!(parse(&["release-everything"]).is_err());
    }

    #[test]
    fn flags() {
        let c = parse(&[
            "--platform-prefixes",
            "cozy-, platform-,,",
            "--acme-challenge-namespace",
            "cm",
            "--leader-election",
            "--leader-election-namespace",
            "ns",
            "--leader-election-lease-duration",
            "1m",
            "--leader-election-renew-deadline",
            "30s",
            "--leader-election-retry-period",
            "500ms",
            "--pod-name",
            "pod-a",
            "--metrics-addr",
            "127.0.0.1:9090",
            "--log-format",
            "text",
        ])
        .expect("parse");
        assert_eq!(
            c.platform_prefixes().0,
            vec!["cozy-".to_owned(), "platform-".to_owned()]
        );
        assert!(
            parse(&["--platform-prefixes", ""])
                .expect("parse")
                .platform_prefixes()
                .0
                .is_empty()
        );
        assert!(c.leader_election);
        c.validate().expect("valid");
        let l = c.leader().expect("leader").expect("enabled");
        assert_eq!(l.namespace, "ns");
        assert_eq!(l.identity, "pod-a");
        assert_eq!(l.lease_duration, Duration::from_secs(60));
        assert_eq!(l.retry_period, Duration::from_millis(500));
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn booleans_as_the_chart_writes_them() {
        for (v, want) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            ("yes", true),
            ("off", false),
        ] {
            let c = parse(&["--leader-election", v]).expect("parse");
            assert_eq!(c.leader_election, want, "{v}");
        }
        assert!(parse(&["--leader-election", "maybe"]).is_err());
    }

    #[test]
    fn refused_values() {
        for args in [
            &["--controller-name", "no-domain"][..],
            &["--controller-name", "example.com/"],
            &["--field-manager", " "],
            &["--watch-namespace", "Tenant_Root"],
            &["--attach-owner-namespaces", "tenant-root,Not A Namespace"],
            &["--attached-by-format", "uid"],
            &["--tenant-namespace-prefix", " "],
            &["--retry-base", "0s"],
            &["--acme-directories", "letsencrypt-prod=http://ca.internal/dir"],
            &["--acme-directories", "zerossl=https://acme.zerossl.com/v2/DV90"],
            &["--acme-ca-bundle-file", "/nonexistent/ca.pem"],
            &["--acme-profiles", "letsencrypt-prod=short lived"],
            &["--retry-base", "10m", "--retry-max", "5m"],
            &["--leader-election", "true", "--leader-election-lease-duration", "5s"],
            &["--leader-election", "true", "--leader-election-retry-period", "10s"],
        ] {
            let c = parse(args).expect("parses");
            assert!(c.validate().is_err(), "{args:?} should be refused");
        }
        assert!(parse(&["--log-format", "xml"]).is_err());
        assert!(parse(&["--metrics-addr", "nope"]).is_err());
    }

    #[test]
    fn controller_name_field_manager_and_watch_namespace_reach_the_settings() {
        let c = parse(&[
            "--controller-name",
            "example.com/gateway-controller",
            "--field-manager",
            "my-manager",
            "--watch-namespace",
            "tenant-root",
        ])
        .expect("parses");
        assert!(c.validate().is_ok());
        let s = c.settings();
        assert_eq!(
            (
                s.controller_name.as_str(),
                s.field_manager.as_str(),
                s.watch_namespace.as_deref()
            ),
            ("example.com/gateway-controller", "my-manager", Some("tenant-root"))
        );
        assert_eq!(parse(&[]).expect("parses").settings().watch_namespace, None);
    }

    #[test]
    fn uniform_route_kinds_classes_default_to_cilium_and_can_be_emptied() {
        let classes = |args: &[&str]| parse(args).expect("parses").settings().uniform_kinds_classes;
        assert_eq!(
            (
                classes(&[]),
                classes(&["--uniform-route-kinds-classes", ""]),
                classes(&["--uniform-route-kinds-classes", "cilium, my-cilium"]),
            ),
            (
                vec!["cilium".to_owned()],
                Vec::<String>::new(),
                vec!["cilium".to_owned(), "my-cilium".to_owned()]
            )
        );
    }

    #[test]
    fn durations() {
        for (s, want) in [
            ("15s", Duration::from_secs(15)),
            ("500ms", Duration::from_millis(500)),
            ("1m30s", Duration::from_secs(90)),
            ("2h", Duration::from_secs(7200)),
            ("1.5s", Duration::from_millis(1500)),
            ("7", Duration::from_secs(7)),
        ] {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
        for s in ["", "s", "10x", "1.2.3s", "-1s", "5 s"] {
            assert!(parse_duration(s).is_err(), "{s:?}");
        }
    }
}
