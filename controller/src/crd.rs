//! The TenantGateway CRD generated from the Rust types in `tgw-core`, completed with the bits
//! kube-derive leaves out so that it is a superset of Cozystack's CRD (listKind and the
//! apiVersion/kind/metadata properties).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use kube::CustomResourceExt;
use tgw_core::tenantgateway::TenantGateway;

/// The CRD object.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = TenantGateway::crd();
    crd.spec.names.list_kind = Some("TenantGatewayList".to_owned());
    for v in &mut crd.spec.versions {
        let Some(schema) = v.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) else {
            continue;
        };
        let props = schema.properties.get_or_insert_with(Default::default);
        for (key, ty) in [("apiVersion", "string"), ("kind", "string"), ("metadata", "object")] {
            props.entry(key.to_owned()).or_insert_with(|| JSONSchemaProps {
                type_: Some(ty.to_owned()),
                ..Default::default()
            });
        }
    }
    crd
}

/// The CRD as a YAML document (with a leading `---`).
pub fn yaml() -> Result<String, serde_yaml::Error> {
    Ok(format!("---\n{}", serde_yaml::to_string(&crd())?))
}
