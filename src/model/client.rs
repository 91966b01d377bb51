//! The client: forwards generated requests, completes returning ones.

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParamItem;

use crate::engine::node::Ctx;
use crate::engine::node::NodeKind;
use crate::engine::world::{BuildCx, BuildError};
use crate::engine::{network, request};
use crate::metrics::record::NameId;
use crate::scenario::schema::ScenarioFile;

/// Client configuration.
#[derive(Component, Debug, Clone)]
pub struct ClientConfig {
    /// Client id.
    pub name: NameId,
    /// The one edge towards the servers.
    pub out_edge: Entity,
}

/// The client kind.
pub struct Clients;

type Param = Query<'static, 'static, &'static ClientConfig>;

impl NodeKind for Clients {
    const NAME: &'static str = "client";
    type Param = Param;

    fn declare(file: &ScenarioFile) -> Vec<String> {
        (file.topology_graph.nodes.all_clients())
            .map(|(_, c)| c.id.clone())
            .collect()
    }

    fn build(cx: &mut BuildCx) -> Result<(), BuildError> {
        let ids: Vec<String> = (cx.file.topology_graph.nodes.all_clients())
            .map(|(_, c)| c.id.clone())
            .collect();
        for id in &ids {
            let e = cx.require_node(id, "client")?;
            // A client no generator targets has nothing to send, and may have
            // no out edge.
            let Some(&(_, out_edge)) = cx.out_edges(id).first() else {
                continue;
            };
            let name = cx.names.intern(id);
            cx.world
                .entity_mut(e)
                .insert(ClientConfig { name, out_edge });
        }
        Ok(())
    }

    /// A request reached the client: forward it, or complete it if it was served.
    fn on_arrive(cx: &mut Ctx, clients: &mut SystemParamItem<Param>, client: Entity, req: Entity) {
        let back = cx
            .requests
            .get(req)
            .ok()
            .filter(|r| r.served)
            .map(|r| r.status);
        if let Some(status) = back {
            request::finish(cx, req, status, None);
        } else if let Ok(cfg) = clients.get(client) {
            network::send(cx, cfg.out_edge, req);
        }
    }
}
