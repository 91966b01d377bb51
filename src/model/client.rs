//! The client: forwards generated requests, completes returning ones.

use bevy_ecs::prelude::*;

use crate::engine::dispatch::Ctx;
use crate::metrics::record::{NameId, RequestStatus};
use crate::model::{edge, request};

/// Client configuration.
#[derive(Component, Debug, Clone)]
pub struct ClientConfig {
    /// Client id.
    pub name: NameId,
    /// The one edge towards the servers.
    pub out_edge: Entity,
}

/// A request reached the client: forward it, or complete it if it was served.
pub fn on_arrive(cx: &mut Ctx, client: Entity, req: Entity) {
    let served = cx.requests.get(req).is_ok_and(|r| r.served);
    if served {
        request::finish(cx, req, RequestStatus::Completed, None);
    } else if let Ok(cfg) = cx.clients.get(client) {
        let out = cfg.out_edge;
        edge::send(cx, out, req);
    }
}
