//! Free loopback TCP ports for the control-plane processes.

use std::net::{Ipv4Addr, TcpListener};

use anyhow::Context;

/// Asks the kernel for `n` distinct free ports on 127.0.0.1. The listeners are held until all
/// ports are chosen, so the ports differ; another process may still take one before the child
/// binds it, which the cluster start-up detects and retries.
pub fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a free loopback port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr().context("reading a bound port")?.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_nonzero() -> anyhow::Result<()> {
        let mut ports = free_ports(3)?;
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|p| *p != 0));
        Ok(())
    }
}
