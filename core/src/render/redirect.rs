//! The HTTP→HTTPS redirect route on the `http` listener, limited to `<apex>` and `*.<apex>`.

use serde_json::{Value, json};

use super::object;
use crate::keys;
use crate::naming;
use crate::tenantgateway::TgwInput;

pub fn redirect(tgw: &TgwInput) -> Value {
    let name = &tgw.meta.name;
    let apex = &tgw.spec.apex;
    object(
        keys::GATEWAY_API_VERSION,
        "HTTPRoute",
        &naming::redirect_route(name),
        tgw,
        &[
            (keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE),
            (keys::LABEL_OBJ_TENANTGATEWAY, name),
        ],
        json!({
            "parentRefs": [{
                "group": keys::GATEWAY_GROUP,
                "kind": "Gateway",
                "name": naming::gateway(name),
                "sectionName": naming::HTTP_LISTENER,
            }],
            "hostnames": [apex, format!("*.{apex}")],
            "rules": [{"filters": [{
                "type": "RequestRedirect",
                "requestRedirect": {"scheme": "https", "statusCode": 301},
            }]}],
        }),
    )
}
