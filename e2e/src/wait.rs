//! Waiting for an object to reach a state.

use std::fmt::Debug;
use std::time::Duration;

use anyhow::Context;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

/// Watches object `name` until `cond` holds (it sees `None` while the object does not exist), or
/// fails after `timeout`, naming the kind and object.
pub async fn await_condition<K>(
    api: Api<K>,
    name: &str,
    cond: impl Fn(Option<&K>) -> bool,
    timeout: Duration,
) -> anyhow::Result<()>
where
    K: Clone + Debug + Send + DeserializeOwned + Resource + 'static,
{
    let kind = std::any::type_name::<K>().rsplit("::").next().unwrap_or("object");
    let wait = kube::runtime::wait::await_condition(api, name, cond);
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {timeout:?} waiting for {kind} {name}"))?
        .with_context(|| format!("watching {kind} {name}"))?;
    Ok(())
}
