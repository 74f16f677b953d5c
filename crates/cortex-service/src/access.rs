//! Cortex and authentication (docs/cortex-api.md, "Cortex and authentication"):
//! getCortexInfo, getUserLogin, requestAccess, hasAccessRight, authorize, generateNewToken,
//! getUserInformation, getLicenseInfo.
//!
//! epocd has no Launcher and no person to approve an app: a local app is approved at once.
//! How that approval looks depends on what the connection was told, so that each official
//! client's first run goes through exactly once:
//! - a connection that heard `hasAccessRight: false` for the app (the Python, C# and Unity
//!   flows) gets `requestAccess: false` ("waiting for approval") and then warning 9 once
//!   the grant is stored; those clients authorize on warning 9, once;
//! - any other connection (Node.js calls requestAccess first and gives up on `false`) gets
//!   `accessGranted: true`;
//! - an app granted before gets `true` and never warning 9.
//!
//! The first requestAccess binds the app's `clientSecret` to its `clientId`; requestAccess,
//! authorize and generateNewToken with another secret are refused (-32021), so one local app
//! cannot act as another (`grants.rs`).

use std::sync::Arc;

use cortex_api::{codes, warning};
use serde_json::json;

use crate::methods::{Call, Reply};
use crate::service::lock;
use crate::{Cortex, OPEN_LICENSE_ID, ServiceError};

/// The scopes of epocd's open licence: the streams it serves (`bp` is band power, `pm`
/// performance metrics).
pub const LICENSE_SCOPES: [&str; 6] = ["eeg", "pm", "bp", "mot", "dev", "eq"];

/// The longest `clientId` accepted, in bytes.
const MAX_CLIENT_ID: usize = 256;

/// `clientId` and `clientSecret`, as requestAccess, hasAccessRight, authorize and
/// generateNewToken take them.
struct AppCredentials<'a> {
    client_id: &'a str,
    secret: &'a str,
}

impl<'a> AppCredentials<'a> {
    fn read(call: &Call<'a>) -> Result<Self, ServiceError> {
        let secret = call.params.str("clientSecret")?;
        let client_id = call.params.str("clientId")?;
        // An id is a name like `com.example.app`: no control characters (which would let it
        // forge log lines), and of a sane length.
        if client_id.trim().is_empty()
            || client_id.len() > MAX_CLIENT_ID
            || client_id.chars().any(char::is_control)
        {
            return Err(ServiceError::BadClient);
        }
        Ok(AppCredentials { client_id, secret })
    }
}

/// `getCortexInfo`.
pub fn get_cortex_info(c: &Arc<Cortex>, _: &Call<'_>) -> Result<Reply, ServiceError> {
    Ok(json!({
        "buildDate": c.started,
        "buildNumber": concat!("epocd-", env!("CARGO_PKG_VERSION")),
        "version": env!("CARGO_PKG_VERSION"),
    })
    .into())
}

/// `getUserLogin`: the OS user (epocd has no cloud account), every field present.
pub fn get_user_login(c: &Arc<Cortex>, _: &Call<'_>) -> Result<Reply, ServiceError> {
    Ok(json!([{
        "username": c.user,
        "currentOSUId": c.uid,
        "currentOSUsername": c.user,
        "loggedInOSUId": c.uid,
        "loggedInOSUsername": c.user,
        "lastLoginTime": c.started,
    }])
    .into())
}

/// `requestAccess`: a local app (the transport refuses foreign web origins) is approved at
/// once; see the module doc for how each client sees it.
pub fn request_access(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = AppCredentials::read(call)?;
    let newly = {
        let mut access = lock(&c.access);
        access.check_secret(app.client_id, app.secret, true)?;
        let newly = !access.is_granted(app.client_id);
        access.grant(app.client_id)?;
        newly
    };
    let told_no = newly
        && lock(&c.state)
            .clients
            .get_mut(&call.client)
            .is_some_and(|cl| cl.told_no_access.remove(app.client_id));
    if told_no {
        tracing::info!("access granted to {:?}", app.client_id);
        return Ok(Reply {
            result: json!({
                "accessGranted": false,
                "message": "The access right is being granted to this application: wait for warning 9.",
            }),
            after: vec![warning::frame(
                codes::warning::ACCESS_GRANTED,
                json!({"behavior": "The user has granted access right to this application.", "clientId": app.client_id}),
            )],
            then: None,
        });
    }
    if newly {
        tracing::info!("access granted to {:?}", app.client_id);
    }
    Ok(
        json!({"accessGranted": true, "message": "The user has granted access right to this application."})
            .into(),
    )
}

/// `hasAccessRight`.
pub fn has_access_right(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = AppCredentials::read(call)?;
    if lock(&c.access).is_granted(app.client_id) {
        return Ok(json!({"accessGranted": true, "message": "The access right to the application has already been granted."}).into());
    }
    if let Some(client) = lock(&c.state).clients.get_mut(&call.client) {
        client.told_no_access.insert(app.client_id.to_owned());
    }
    Ok(json!({"accessGranted": false, "message": "The application has no access right yet: call requestAccess."}).into())
}

/// `authorize`: any licence (including none) is accepted.
pub fn authorize(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = AppCredentials::read(call)?;
    call.params.opt_str("license")?;
    call.params.opt_number("debit")?;
    let mut access = lock(&c.access);
    if !access.is_granted(app.client_id) {
        return Err(ServiceError::NoAccess);
    }
    access.check_secret(app.client_id, app.secret, false)?;
    Ok(json!({"cortexToken": access.issue(app.client_id)?}).into())
}

/// `generateNewToken`.
pub fn generate_new_token(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let token = call.params.token()?;
    let app = AppCredentials::read(call)?;
    let owner = c.app_of(token)?;
    if owner != app.client_id {
        return Err(ServiceError::InvalidParams(format!(
            "the token belongs to {owner}, not to clientId {}",
            app.client_id
        )));
    }
    let mut access = lock(&c.access);
    access.check_secret(app.client_id, app.secret, false)?;
    Ok(json!({"cortexToken": access.issue(app.client_id)?}).into())
}

/// `getUserInformation`.
pub fn get_user_information(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    Ok(json!({"username": c.user, "emotivId": c.user, "firstName": "", "lastName": ""}).into())
}

/// `getLicenseInfo`: an open licence with the scopes epocd serves, never expiring.
pub fn get_license_info(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    Ok(json!({
        "isOnline": false,
        "license": {
            "licenseId": OPEN_LICENSE_ID,
            "licenseName": "epocd open licence (no licence needed)",
            "expired": false,
            "applications": [],
            "scopes": LICENSE_SCOPES,
            "localQuota": 0,
            "seatCount": 0,
            "sessionCount": 0,
            "totalDebit": 0,
            "validFrom": "1970-01-01T00:00:00.000000+00:00",
            "validTo": "9999-12-31T23:59:59.000000+00:00",
        },
    })
    .into())
}
