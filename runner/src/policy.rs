//! Instantiating a policy module and calling its waPC operations, the way
//! policy-server does: compile once, `build_pre` once, then a fresh instance
//! (`rehydrate` + `WapcHost::new`) per evaluation.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use wapc::WapcHost;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::error::{Error, Result};
use crate::host::{AccessControl, HostCapabilities, LogSink, format_policy_log};
use crate::metadata::{ExecutionMode, Metadata, read_metadata};
use crate::response::AdmissionResponse;

/// Outcome of `validate_settings`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SettingsValidation {
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

/// Granularity of evaluation deadlines (one epoch tick).
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// policy-server's message when an evaluation exceeds its deadline.
pub const TIMEOUT_MESSAGE: &str = "Policy execution interrupted because it exceeded the allowed execution time";

/// A compiled policy, ready to be instantiated many times.
pub struct PolicyHost {
    pre: WasmtimeEngineProviderPre,
    metadata: Option<Metadata>,
    access: Arc<AccessControl>,
    log_sink: LogSink,
    deadlines: Option<EpochDeadlines>,
    /// Keeps the epoch ticker thread alive (it stops once this is dropped).
    _ticker: Option<Arc<()>>,
}

impl PolicyHost {
    /// Compiles the module and reads its metadata. Non-waPC execution modes
    /// (opa, gatekeeper, wasi) are refused. No evaluation deadline.
    pub fn new(wasm: &[u8]) -> Result<Self> {
        Self::build(wasm, None)
    }

    /// Like [`PolicyHost::new`], but every waPC call (and `wapc_init`) is
    /// interrupted after `timeout`, like policy-server's `--policy-timeout`;
    /// the evaluation then answers 500 with [`TIMEOUT_MESSAGE`].
    pub fn with_timeout(wasm: &[u8], timeout: Duration) -> Result<Self> {
        Self::build(wasm, Some(timeout))
    }

    fn build(wasm: &[u8], timeout: Option<Duration>) -> Result<Self> {
        let metadata = read_metadata(wasm)?;
        if let Some(m) = &metadata
            && m.execution_mode != ExecutionMode::KubewardenWapc
        {
            return Err(Error::Unsupported(format!(
                "execution mode {:?} is not supported: tgw-kwctl only runs kubewarden-wapc policies",
                m.execution_mode
            )));
        }
        let (pre, deadlines, ticker) = match timeout {
            None => {
                let pre = WasmtimeEngineProviderBuilder::new()
                    .module_bytes(wasm)
                    .build_pre()
                    .map_err(|e| Error::Load(e.to_string()))?;
                (pre, None, None)
            }
            Some(timeout) => {
                let mut config = wasmtime::Config::default();
                config.epoch_interruption(true);
                let engine = wasmtime::Engine::new(&config).map_err(|e| Error::Load(e.to_string()))?;
                let pre = WasmtimeEngineProviderBuilder::new()
                    .engine(engine.clone())
                    .module_bytes(wasm)
                    .build_pre()
                    .map_err(|e| Error::Load(e.to_string()))?;
                let ticks = u64::try_from(timeout.as_millis() / EPOCH_TICK.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1);
                let token = Arc::new(());
                spawn_ticker(engine, Arc::downgrade(&token))?;
                let deadlines = EpochDeadlines {
                    wapc_init: ticks,
                    wapc_func: ticks,
                };
                (pre, Some(deadlines), Some(token))
            }
        };
        Ok(Self {
            pre,
            metadata,
            access: Arc::new(AccessControl::default()),
            log_sink: Arc::new(|payload: &[u8]| eprintln!("{}", format_policy_log(payload))),
            deadlines,
            _ticker: ticker,
        })
    }

    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// Replaces the access rules (allow-list, capability patterns).
    pub fn set_access_control(&mut self, access: AccessControl) {
        self.access = Arc::new(access);
    }

    pub fn access_control(&self) -> &AccessControl {
        &self.access
    }

    /// Where policy `tracing/log` lines go (stderr by default).
    pub fn set_log_sink(&mut self, sink: LogSink) {
        self.log_sink = sink;
    }

    /// A fresh instance whose host calls are answered by `host`.
    pub fn instantiate(&self, host: Arc<dyn HostCapabilities>) -> Result<PolicyInstance> {
        let provider = self
            .pre
            .rehydrate(self.deadlines)
            .map_err(|e| Error::Instantiate(e.to_string()))?;
        let access = Arc::clone(&self.access);
        let log_sink = Arc::clone(&self.log_sink);
        let callback = move |_id: u64,
                             binding: &str,
                             namespace: &str,
                             operation: &str,
                             payload: &[u8]|
              -> std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
            match access.check(binding, namespace, operation, payload)? {
                None => {
                    log_sink(payload);
                    Ok(Vec::new())
                }
                Some(request) => Ok(host.call(&request)?),
            }
        };
        let wapc = WapcHost::new(Box::new(provider), Some(Box::new(callback)))
            .map_err(|e| Error::Instantiate(e.to_string()))?;
        Ok(PolicyInstance { wapc })
    }

    /// `protocol_version` on a fresh instance.
    pub fn protocol_version(&self) -> Result<String> {
        self.instantiate(Arc::new(crate::host::NoClusterHost))?
            .protocol_version()
    }

    /// `validate_settings` on a fresh instance.
    pub fn validate_settings(&self, settings: &Value, host: Arc<dyn HostCapabilities>) -> SettingsValidation {
        match self.instantiate(host) {
            Ok(instance) => instance.validate_settings(settings),
            Err(e) => SettingsValidation {
                valid: false,
                message: Some(e.to_string()),
            },
        }
    }

    /// `validate` on a fresh instance (policy-server's model).
    pub fn validate(&self, request: &Value, settings: &Value, host: Arc<dyn HostCapabilities>) -> AdmissionResponse {
        match self.instantiate(host) {
            Ok(instance) => instance.validate(request, settings),
            Err(e) => AdmissionResponse::internal_error(uid_of(request), &e.to_string()),
        }
    }
}

/// One live instance; reusable for warm-instance benchmarks.
pub struct PolicyInstance {
    wapc: WapcHost,
}

impl PolicyInstance {
    pub fn protocol_version(&self) -> Result<String> {
        let bytes = self
            .wapc
            .call("protocol_version", b"")
            .map_err(|e| Error::ProtocolVersion(e.to_string()))?;
        serde_json::from_slice::<String>(&bytes).map_err(|e| {
            Error::ProtocolVersion(format!("unexpected answer {:?}: {e}", String::from_utf8_lossy(&bytes)))
        })
    }

    pub fn validate_settings(&self, settings: &Value) -> SettingsValidation {
        let payload = match serde_json::to_vec(settings) {
            Ok(p) => p,
            Err(e) => return invalid(e.to_string()),
        };
        match self.wapc.call("validate_settings", &payload) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| invalid(format!("cannot decode the validate_settings answer: {e}"))),
            Err(e) => invalid(e.to_string()),
        }
    }

    /// Calls `validate` with `{"request": .., "settings": ..}`.
    pub fn validate(&self, request: &Value, settings: &Value) -> AdmissionResponse {
        let uid = uid_of(request);
        let payload = serde_json::json!({ "request": request, "settings": settings });
        let payload = match serde_json::to_vec(&payload) {
            Ok(p) => p,
            Err(e) => return AdmissionResponse::internal_error(uid, &e.to_string()),
        };
        match self.wapc.call("validate", &payload) {
            Ok(bytes) => AdmissionResponse::from_guest_bytes(uid, request.get("object"), &bytes),
            Err(e) => {
                let text = e.to_string();
                if text.contains("execution deadline exceeded") {
                    AdmissionResponse::timeout(uid, TIMEOUT_MESSAGE)
                } else {
                    AdmissionResponse::internal_error(uid, &text)
                }
            }
        }
    }

    /// Raw waPC call, for experiments.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        self.wapc.call(operation, payload).map_err(|e| e.to_string())
    }
}

/// Advances the engine's epoch every tick while `alive` can be upgraded.
fn spawn_ticker(engine: wasmtime::Engine, alive: Weak<()>) -> Result<()> {
    std::thread::Builder::new()
        .name("tgw-epoch-ticker".into())
        .spawn(move || {
            while alive.upgrade().is_some() {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .map(drop)
        .map_err(|e| Error::Instantiate(format!("cannot start the epoch ticker: {e}")))
}

fn invalid(message: String) -> SettingsValidation {
    SettingsValidation {
        valid: false,
        message: Some(message),
    }
}

fn uid_of(request: &Value) -> &str {
    request.get("uid").and_then(Value::as_str).unwrap_or_default()
}
