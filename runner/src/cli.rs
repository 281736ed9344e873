//! Command-line front end (`tgw-kwctl`), compatible with the parts of `kwctl`
//! the project's bats suites use.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::host::{AccessControl, HostCapabilities, NoClusterHost};
use crate::policy::PolicyHost;
use crate::push::RegistryOptions;
use crate::replay::ReplayHost;

pub const USAGE: &str = "\
tgw-kwctl: a kwctl-compatible runner for Kubewarden waPC policies (tenant-gateway)

USAGE:
    tgw-kwctl run <module> -r <request.json|-> [OPTIONS]
    tgw-kwctl annotate <module.wasm> -m <metadata.yml> -o <out.wasm> [-u <README.md>]
    tgw-kwctl push <module.wasm> registry://<host[:port]>/<repo>:<tag> [-f] [-o text|json]
    tgw-kwctl inspect <module.wasm> [-o yaml]
    tgw-kwctl pull registry://<host[:port]>/<repo>(:<tag>|@<digest>) -o <out.wasm>
    tgw-kwctl sign --key <cosign.key> registry://<host[:port]>/<repo>(:<tag>|@<digest>) [-a KEY=VALUE]
    tgw-kwctl verify -k <cosign.pub> registry://<host[:port]>/<repo>(:<tag>|@<digest>) [-a KEY=VALUE]
    tgw-kwctl --version | --help | <command> --help
";

const RUN_HELP: &str = "\
tgw-kwctl run <module> [OPTIONS]

Runs one policy against one admission request and prints kwctl's one-line
AdmissionResponse JSON on stdout (logs go to stderr). Exit status is 0 when the
request is accepted or rejected, non-zero for usage, load, request or settings
errors. <module> is a local file path, optionally with a file:// prefix.

OPTIONS:
    -r, --request-path <file|->        AdmissionRequest or AdmissionReview JSON ('-' = stdin)
    -s, --settings-path <file>         Policy settings (YAML or JSON)
        --settings-json <json>         Policy settings as a JSON string
        --allow-context-aware          Let the policy read the Kubernetes resources listed
                                       in its metadata (contextAwareResources)
        --allowed-host-capabilities <pattern>
                                       Host capabilities allowed (repeatable; default '*';
                                       e.g. 'kubernetes/*', 'oci/v1/*', exact paths)
        --replay-host-capabilities-interactions <session.yml>
                                       Answer host capability calls from a recorded kwctl
                                       session (FIFO, exact match)
        --disable-wasmtime-cache       Accepted for compatibility (no cache is used)
    -h, --help                         This help

Each waPC call is interrupted after 5 s (500 'Policy execution interrupted because
it exceeded the allowed execution time'), so a looping policy cannot hang a suite.

There is no live-cluster mode: without --replay-host-capabilities-interactions
every Kubernetes/OCI/network host capability call fails (the policy sees a failed
host call, which usually ends in a 500 'internal server error' response).
";

const ANNOTATE_HELP: &str = "\
tgw-kwctl annotate <module.wasm> -m <metadata.yml> -o <out.wasm> [-u <README.md>]

Validates the metadata like kwctl, asks the module for its protocol version and
embeds the metadata JSON in the 'io.kubewarden.metadata' custom section.

OPTIONS:
    -m, --metadata-path <file>    Metadata (YAML)
    -o, --output-path <file>      Annotated module to write
    -u, --usage-path <file>       README whose text becomes io.kubewarden.policy.usage
";

const PUSH_HELP: &str = "\
tgw-kwctl push <module.wasm> registry://<host[:port]>/<repo>:<tag> [OPTIONS]

Pushes a policy as a Kubewarden OCI artifact. Plain HTTP is used for loopback
registries (127.0.0.0/8, localhost), with --insecure, or for registries listed in
the sources file's insecure_sources.

OPTIONS:
    -f, --force                   Push even if the module is not annotated
    -o, --output <text|json>      json prints {\"immutable_ref\": \"<repo>@sha256:...\"}
        --insecure                Use plain HTTP
        --sources-path <file>     kwctl sources file (insecure_sources: [host:port])
";

const INSPECT_HELP: &str = "\
tgw-kwctl inspect <module.wasm> [OPTIONS]

Prints the metadata embedded by `annotate`, as `kwctl inspect` does: details
(title, description, author, url, source, license, mutating, protocol
version), the other annotations, the rules and the usage text.

OPTIONS:
    -o, --output <yaml>           Print the metadata as YAML instead
";

const PULL_HELP: &str = "\
tgw-kwctl pull registry://<host[:port]>/<repo>(:<tag>|@<digest>) -o <out.wasm> [OPTIONS]

OPTIONS:
    -o, --output-path <file>      Where to write the module
        --insecure                Use plain HTTP
        --sources-path <file>     kwctl sources file (insecure_sources: [host:port])
";

const SIGN_HELP: &str = "\
tgw-kwctl sign --key <cosign.key> registry://<host[:port]>/<repo>(:<tag>|@<digest>) [OPTIONS]

Signs the policy manifest like `cosign sign --key`: pushes (or extends) the tag
sha256-<digest>.sig in the same repository with a simple-signing payload and an
ECDSA P-256 signature, which `kwctl verify -k` and policy-server accept.
The key is an unencrypted PKCS#8 (or SEC1) PEM P-256 private key, e.g.
    openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt > cosign.key
    openssl ec -in cosign.key -pubout > cosign.pub
(cosign's encrypted keys are not read; sign with cosign itself for those).

OPTIONS:
        --key <file>                  Private key (PEM)
    -a, --annotations <KEY=VALUE>     Annotation in the signed payload (repeatable)
    -o, --output <text|json>          json prints {\"image\": ..., \"signature\": ...}
        --insecure                    Use plain HTTP
        --sources-path <file>         kwctl sources file (insecure_sources: [host:port])
";

const VERIFY_HELP: &str = "\
tgw-kwctl verify -k <cosign.pub> registry://<host[:port]>/<repo>(:<tag>|@<digest>) [OPTIONS]

Verifies the policy's cosign signatures like `kwctl verify -k`: for every key
given, some signature in sha256-<digest>.sig must verify over its payload, name
the policy's manifest digest and carry every --verification-annotation.
Exit status 0 when verified, 1 otherwise (the message says which check failed).

OPTIONS:
    -k, --verification-key <file>          Public key (PEM; repeatable, all must match)
    -a, --verification-annotation <KEY=VALUE>
                                           Required payload annotation (repeatable)
        --insecure                         Use plain HTTP
        --sources-path <file>              kwctl sources file (insecure_sources: [host:port])
";

/// Deadline per waPC call in `run`, so a looping policy cannot hang a test
/// suite (policy-server's default is 2 s; kwctl has none). Generous on purpose.
const RUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the process should end.
#[derive(Debug)]
pub enum Failure {
    /// Bad command line: message, help text; exit 2.
    Usage(String, &'static str),
    /// Anything else: exit 1.
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

struct Opt {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
}

const fn flag(long: &'static str, short: Option<char>) -> Opt {
    Opt {
        long,
        short,
        takes_value: false,
    }
}
const fn value(long: &'static str, short: Option<char>) -> Opt {
    Opt {
        long,
        short,
        takes_value: true,
    }
}

#[derive(Debug, Default)]
struct Parsed {
    values: BTreeMap<&'static str, Vec<String>>,
    positionals: Vec<String>,
}

impl Parsed {
    fn has(&self, long: &str) -> bool {
        self.values.contains_key(long)
    }
    fn last(&self, long: &str) -> Option<&str> {
        self.values.get(long).and_then(|v| v.last()).map(String::as_str)
    }
    fn all(&self, long: &str) -> Vec<String> {
        self.values.get(long).cloned().unwrap_or_default()
    }
}

/// Parses a subcommand's arguments; `None` (after printing `help`) for `-h`/`--help`.
fn parse_opts(args: &[String], specs: &[Opt], help: &'static str) -> Result<Option<Parsed>, Failure> {
    let usage = |msg: String| Failure::Usage(msg, help);
    let mut parsed = Parsed::default();
    let mut i = 0;
    let mut only_positionals = false;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if only_positionals || arg == "-" || !arg.starts_with('-') {
            parsed.positionals.push(arg.clone());
            continue;
        }
        if arg == "--" {
            only_positionals = true;
            continue;
        }
        if arg == "-h" || arg == "--help" {
            print!("{help}");
            return Ok(None);
        }
        let (spec, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let spec = specs
                .iter()
                .find(|s| s.long == name)
                .ok_or_else(|| usage(format!("unexpected argument '--{name}'")))?;
            (spec, inline)
        } else {
            let mut chars = arg.chars().skip(1);
            let c = chars.next().unwrap_or('-');
            let rest: String = chars.collect();
            let spec = specs
                .iter()
                .find(|s| s.short == Some(c))
                .ok_or_else(|| usage(format!("unexpected argument '-{c}'")))?;
            (spec, (!rest.is_empty()).then_some(rest))
        };
        let val = if spec.takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| usage(format!("a value is required for '--{}'", spec.long)))?;
                    i += 1;
                    v.clone()
                }
            }
        } else if inline.is_some() {
            return Err(usage(format!("'--{}' does not take a value", spec.long)));
        } else {
            String::new()
        };
        parsed.values.entry(spec.long).or_default().push(val);
    }
    Ok(Some(parsed))
}

fn one_positional(p: &Parsed, what: &str, help: &'static str) -> Result<String, Failure> {
    match p.positionals.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Failure::Usage(format!("missing {what}"), help)),
        more => Err(Failure::Usage(
            format!("unexpected extra arguments: {}", more[1..].join(" ")),
            help,
        )),
    }
}

fn required<'a>(p: &'a Parsed, long: &str, help: &'static str) -> Result<&'a str, Failure> {
    p.last(long)
        .ok_or_else(|| Failure::Usage(format!("the option '--{long}' is required"), help))
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

fn module_path(uri: &str) -> Result<PathBuf, Error> {
    if let Some(path) = uri.strip_prefix("file://") {
        return Ok(PathBuf::from(path));
    }
    if uri.starts_with("registry://") || uri.starts_with("https://") || uri.starts_with("http://") {
        return Err(Error::Unsupported(format!(
            "{uri}: only local modules can be run; fetch it first with `tgw-kwctl pull`"
        )));
    }
    Ok(PathBuf::from(uri))
}

fn warn(msg: &str) {
    eprintln!(" WARN tgw-kwctl: {msg}");
}

/// Runs the CLI; returns the process exit code.
pub fn main_with_args(args: &[String]) -> i32 {
    match dispatch(args) {
        Ok(()) => 0,
        Err(Failure::Usage(msg, help)) => {
            eprintln!("error: {msg}\n\n{help}");
            2
        }
        Err(Failure::Error(e)) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn dispatch(args: &[String]) -> Result<(), Failure> {
    let Some((command, rest)) = args.split_first() else {
        return Err(Failure::Usage("missing command".into(), USAGE));
    };
    match command.as_str() {
        "run" => run(rest),
        "annotate" => annotate(rest),
        "push" => push(rest),
        "pull" => pull(rest),
        "inspect" => inspect(rest),
        "sign" => sign(rest),
        "verify" => verify(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        "-V" | "--version" | "version" => {
            println!("{}", crate::TOOL_VERSION);
            Ok(())
        }
        other => Err(Failure::Usage(format!("unknown command '{other}'"), USAGE)),
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[
        value("request-path", Some('r')),
        value("settings-path", Some('s')),
        value("settings-json", None),
        flag("allow-context-aware", None),
        value("allowed-host-capabilities", None),
        value("replay-host-capabilities-interactions", None),
        flag("disable-wasmtime-cache", None),
    ];
    let Some(p) = parse_opts(args, SPECS, RUN_HELP)? else {
        return Ok(());
    };
    let module = one_positional(&p, "the policy module argument", RUN_HELP)?;
    let request_path = required(&p, "request-path", RUN_HELP)?;
    if p.has("settings-path") && p.has("settings-json") {
        return Err(Failure::Usage(
            "'--settings-path' cannot be used with '--settings-json'".into(),
            RUN_HELP,
        ));
    }

    let mut allowed_capabilities = p.all("allowed-host-capabilities");
    for pattern in &allowed_capabilities {
        crate::host::validate_capability_pattern(pattern)
            .map_err(|e| Failure::Usage(format!("--allowed-host-capabilities: {e}"), RUN_HELP))?;
    }
    if allowed_capabilities.is_empty() {
        allowed_capabilities.push("*".to_owned());
    }
    // Inputs first, so CLI-level errors do not depend on the module.
    let request_text = if request_path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::Read {
                path: "<stdin>".into(),
                source,
            })?;
        text
    } else {
        read_text(Path::new(request_path))?
    };
    let request = crate::request::parse_request(&request_text)?;
    let settings = match (p.last("settings-path"), p.last("settings-json")) {
        (Some(path), _) => crate::settings::parse_settings(&read_text(Path::new(path))?)?,
        (None, Some(json)) => {
            let value: serde_json::Value = serde_json::from_str(json)
                .map_err(|e| Error::Settings(format!("--settings-json is not valid JSON: {e}")))?;
            crate::settings::normalize_settings(value)?
        }
        (None, None) => serde_json::Value::Object(Default::default()),
    };
    let replay = p
        .last("replay-host-capabilities-interactions")
        .map(|path| ReplayHost::from_yaml(&read_text(Path::new(path))?).map(Arc::new))
        .transpose()?;

    let wasm = read_file(&module_path(&module)?)?;
    let mut policy = PolicyHost::with_timeout(&wasm, RUN_TIMEOUT)?;
    let declared = policy
        .metadata()
        .map(|m| m.context_aware_resources.clone())
        .unwrap_or_default();
    let context_aware_resources = if p.has("allow-context-aware") {
        declared
    } else {
        if !declared.is_empty() {
            warn(
                "the policy declares contextAwareResources, but --allow-context-aware was not \
                 given: it will not be allowed to read any Kubernetes resource",
            );
        }
        Default::default()
    };
    policy.set_access_control(AccessControl {
        context_aware_resources,
        allowed_capabilities,
    });
    let host: Arc<dyn HostCapabilities> = match &replay {
        Some(r) => r.clone(),
        None => Arc::new(NoClusterHost),
    };

    let verdict = policy.validate_settings(&settings, host.clone());
    if !verdict.valid {
        return Err(Error::SettingsRejected(verdict.message.unwrap_or_default()).into());
    }
    let response = policy.validate(&request, &settings, host);
    println!("{}", response.to_line());
    if let Some(r) = &replay
        && r.remaining() > 0
    {
        warn(&format!(
            "{} recorded host capability exchanges were not used",
            r.remaining()
        ));
    }
    Ok(())
}

fn annotate(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[
        value("metadata-path", Some('m')),
        value("output-path", Some('o')),
        value("usage-path", Some('u')),
    ];
    let Some(p) = parse_opts(args, SPECS, ANNOTATE_HELP)? else {
        return Ok(());
    };
    let module = one_positional(&p, "the wasm module argument", ANNOTATE_HELP)?;
    let metadata_path = required(&p, "metadata-path", ANNOTATE_HELP)?;
    let output = required(&p, "output-path", ANNOTATE_HELP)?;
    let wasm = read_file(&module_path(&module)?)?;
    let metadata = read_text(Path::new(metadata_path))?;
    let usage = p.last("usage-path").map(|u| read_text(Path::new(u))).transpose()?;
    let (annotated, _) = crate::annotate::annotate(&wasm, &metadata, usage.as_deref()).map_err(|e| match e {
        Error::Metadata(msg) => Error::Metadata(format!("{metadata_path}: {msg}")),
        other => other,
    })?;
    std::fs::write(output, annotated).map_err(|source| Error::Write {
        path: output.into(),
        source,
    })?;
    Ok(())
}

fn registry_options(p: &Parsed) -> Result<RegistryOptions, Failure> {
    let mut opts = RegistryOptions {
        insecure: p.has("insecure"),
        ..Default::default()
    };
    if let Some(path) = p.last("sources-path") {
        opts.add_sources_file(&read_text(Path::new(path))?)?;
    }
    Ok(opts)
}

fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Registry(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(fut))
}

fn push(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[
        flag("force", Some('f')),
        value("output", Some('o')),
        flag("insecure", None),
        value("sources-path", None),
    ];
    let Some(p) = parse_opts(args, SPECS, PUSH_HELP)? else {
        return Ok(());
    };
    let [module, uri] = p.positionals.as_slice() else {
        return Err(Failure::Usage(
            "expected <module.wasm> and <registry://...:tag>".into(),
            PUSH_HELP,
        ));
    };
    let json = match p.last("output").unwrap_or("text") {
        "text" => false,
        "json" => true,
        other => {
            return Err(Failure::Usage(
                format!("invalid --output {other:?} (text|json)"),
                PUSH_HELP,
            ));
        }
    };
    let opts = registry_options(&p)?;
    let wasm = read_file(&module_path(module)?)?;
    let immutable_ref = block_on(crate::push::push(&wasm, uri, p.has("force"), &opts))??;
    if json {
        println!("{}", serde_json::json!({ "immutable_ref": immutable_ref }));
    } else {
        println!("Policy successfully pushed: {immutable_ref}");
    }
    Ok(())
}

fn inspect(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[value("output", Some('o'))];
    let Some(p) = parse_opts(args, SPECS, INSPECT_HELP)? else {
        return Ok(());
    };
    let module = one_positional(&p, "the wasm module argument", INSPECT_HELP)?;
    let format = match p.last("output") {
        None => crate::inspect::Format::Pretty,
        Some("yaml") => crate::inspect::Format::Yaml,
        Some(other) => {
            return Err(Failure::Usage(format!("Invalid output format '{other}'"), INSPECT_HELP));
        }
    };
    let wasm = read_file(&module_path(&module)?)?;
    let metadata = crate::metadata::read_metadata(&wasm)?;
    print!("{}", crate::inspect::inspect(&module, metadata.as_ref(), format)?);
    Ok(())
}

fn pull(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[
        value("output-path", Some('o')),
        flag("insecure", None),
        value("sources-path", None),
    ];
    let Some(p) = parse_opts(args, SPECS, PULL_HELP)? else {
        return Ok(());
    };
    let uri = one_positional(&p, "the registry:// reference", PULL_HELP)?;
    let output = required(&p, "output-path", PULL_HELP)?;
    let opts = registry_options(&p)?;
    let pulled = block_on(crate::push::pull(&uri, &opts))??;
    std::fs::write(output, &pulled.wasm).map_err(|source| Error::Write {
        path: output.into(),
        source,
    })?;
    eprintln!(
        "pulled {uri} ({}) to {output}",
        pulled.digest.as_deref().unwrap_or("unknown digest")
    );
    Ok(())
}

/// Names the key file in a key error.
fn key_error(path: &str, e: Error) -> Error {
    match e {
        Error::Key(m) => Error::Key(format!("{path}: {m}")),
        other => other,
    }
}

fn sign(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[
        value("key", None),
        value("annotations", Some('a')),
        value("output", Some('o')),
        flag("insecure", None),
        value("sources-path", None),
    ];
    let Some(p) = parse_opts(args, SPECS, SIGN_HELP)? else {
        return Ok(());
    };
    let uri = one_positional(&p, "the registry:// reference", SIGN_HELP)?;
    let key_path = required(&p, "key", SIGN_HELP)?;
    let json = match p.last("output").unwrap_or("text") {
        "text" => false,
        "json" => true,
        other => {
            return Err(Failure::Usage(
                format!("invalid --output {other:?} (text|json)"),
                SIGN_HELP,
            ));
        }
    };
    let key = crate::sign::signing_key(&read_text(Path::new(key_path))?).map_err(|e| key_error(key_path, e))?;
    let annotations = crate::sign::parse_annotations(&p.all("annotations"))?;
    let opts = registry_options(&p)?;
    let signed = block_on(crate::sign::sign(&uri, &key, &annotations, &opts))??;
    if json {
        println!(
            "{}",
            serde_json::json!({"image": signed.image, "signature": signed.signature})
        );
    } else {
        println!("Policy signed: {} (signature {})", signed.image, signed.signature);
    }
    Ok(())
}

fn verify(args: &[String]) -> Result<(), Failure> {
    const SPECS: &[Opt] = &[
        value("verification-key", Some('k')),
        value("verification-annotation", Some('a')),
        flag("insecure", None),
        value("sources-path", None),
    ];
    let Some(p) = parse_opts(args, SPECS, VERIFY_HELP)? else {
        return Ok(());
    };
    let uri = one_positional(&p, "the registry:// reference", VERIFY_HELP)?;
    let key_paths = p.all("verification-key");
    if key_paths.is_empty() {
        return Err(Failure::Usage(
            "a verification key is required: -k <cosign.pub> (keyless verification is not supported)".into(),
            VERIFY_HELP,
        ));
    }
    let mut keys = Vec::new();
    for path in key_paths {
        let key = crate::sign::verifying_key(&read_text(Path::new(&path))?).map_err(|e| key_error(&path, e))?;
        keys.push((path, key));
    }
    let required = crate::sign::parse_annotations(&p.all("verification-annotation"))?;
    let opts = registry_options(&p)?;
    let verified = block_on(crate::sign::verify(&uri, &keys, &required, &opts))??;
    println!(
        "Policy successfully verified: {} (signature {})",
        verified.image, verified.signature
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    const SPECS: &[Opt] = &[value("request-path", Some('r')), flag("allow-context-aware", None)];

    #[test]
    fn positional_anywhere_and_forms() {
        let p = parse_opts(&args("policy.wasm -r req.json --allow-context-aware"), SPECS, RUN_HELP)
            .expect("ok")
            .expect("not help");
        assert_eq!(p.positionals, ["policy.wasm"]);
        assert_eq!(p.last("request-path"), Some("req.json"));
        let p = parse_opts(&args("--request-path=- x.wasm"), SPECS, RUN_HELP)
            .expect("ok")
            .expect("not help");
        assert_eq!(p.last("request-path"), Some("-"));
        assert_eq!(p.positionals, ["x.wasm"]);
        let p = parse_opts(&args("-r - x.wasm"), SPECS, RUN_HELP)
            .expect("ok")
            .expect("not help");
        assert_eq!(p.last("request-path"), Some("-"));
    }

    #[test]
    fn unknown_and_missing_values() {
        let e = parse_opts(&args("x.wasm --bogus"), SPECS, RUN_HELP).expect_err("unknown");
        assert!(
            matches!(e, Failure::Usage(ref m, _) if m == "unexpected argument '--bogus'"),
            "{e:?}"
        );
        let e = parse_opts(&args("x.wasm -r"), SPECS, RUN_HELP).expect_err("missing value");
        assert!(
            matches!(e, Failure::Usage(ref m, _) if m == "a value is required for '--request-path'"),
            "{e:?}"
        );
        assert_eq!(main_with_args(&args("run x.wasm --nope")), 2);
        assert_eq!(main_with_args(&args("frobnicate")), 2);
        assert_eq!(main_with_args(&args("run x.wasm")), 2);
    }
}
