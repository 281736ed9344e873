//! API resources the controller talks to, resolved by discovery (Gateway API and cert-manager
//! versions differ between clusters; TLSRoute/GRPCRoute may be absent).

use kube::Client;
use kube::core::ApiResource;
use kube::discovery::oneshot;

use crate::Error;

#[derive(Clone, Debug)]
pub struct Resources {
    pub gateway: ApiResource,
    pub http_route: ApiResource,
    pub tls_route: Option<ApiResource>,
    pub grpc_route: Option<ApiResource>,
    pub issuer: ApiResource,
    pub certificate: ApiResource,
}

impl Resources {
    pub async fn discover(client: &Client) -> Result<Self, Error> {
        let gw = oneshot::group(client, tgw_core::keys::GATEWAY_GROUP)
            .await
            .map_err(|e| Error::Discovery(format!("gateway.networking.k8s.io: {e}")))?;
        let cm = oneshot::group(client, "cert-manager.io")
            .await
            .map_err(|e| Error::Discovery(format!("cert-manager.io: {e}")))?;
        let need = |g: &kube::discovery::ApiGroup, k: &str| {
            g.recommended_kind(k)
                .map(|(ar, _)| ar)
                .ok_or_else(|| Error::Discovery(format!("kind {k} not served")))
        };
        Ok(Resources {
            gateway: need(&gw, "Gateway")?,
            http_route: need(&gw, "HTTPRoute")?,
            tls_route: gw.recommended_kind("TLSRoute").map(|(ar, _)| ar),
            grpc_route: gw.recommended_kind("GRPCRoute").map(|(ar, _)| ar),
            issuer: need(&cm, "Issuer")?,
            certificate: need(&cm, "Certificate")?,
        })
    }
}
