//! The HTTP→HTTPS redirect route on the `http` listener, limited to `<apex>` and `*.<apex>`.

use gateway_api::httproutes::{
    HttpRoute, HttpRouteParentRefs, HttpRouteRules, HttpRouteRulesFilters, HttpRouteRulesFiltersRequestRedirect,
    HttpRouteRulesFiltersRequestRedirectScheme, HttpRouteRulesFiltersType, HttpRouteSpec,
};

use super::metadata;
use crate::keys;
use crate::naming;
use crate::tenantgateway::TgwInput;

/// 301 Moved Permanently: browsers and caches remember the HTTPS location.
const REDIRECT_STATUS: i64 = 301;

pub fn redirect(tgw: &TgwInput) -> HttpRoute {
    let name = &tgw.meta.name;
    let apex = &tgw.spec.apex;
    let labels = [
        (keys::LABEL_MANAGED_BY, keys::MANAGED_BY_VALUE),
        (keys::LABEL_OBJ_TENANTGATEWAY, name.as_str()),
    ];
    let to_https = HttpRouteRulesFilters {
        r#type: HttpRouteRulesFiltersType::RequestRedirect,
        request_redirect: Some(HttpRouteRulesFiltersRequestRedirect {
            scheme: Some(HttpRouteRulesFiltersRequestRedirectScheme::Https),
            status_code: Some(REDIRECT_STATUS),
            ..HttpRouteRulesFiltersRequestRedirect::default()
        }),
        ..HttpRouteRulesFilters::default()
    };
    HttpRoute {
        metadata: metadata(&naming::redirect_route(name), tgw, &labels),
        spec: HttpRouteSpec {
            parent_refs: Some(vec![HttpRouteParentRefs {
                group: Some(keys::GATEWAY_GROUP.to_owned()),
                kind: Some("Gateway".to_owned()),
                name: naming::gateway(name),
                section_name: Some(naming::HTTP_LISTENER.to_owned()),
                ..HttpRouteParentRefs::default()
            }]),
            hostnames: Some(vec![apex.clone(), format!("*.{apex}")]),
            rules: Some(vec![HttpRouteRules {
                filters: Some(vec![to_https]),
                ..HttpRouteRules::default()
            }]),
        },
        status: None,
    }
}
