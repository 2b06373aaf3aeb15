//! The channel of writes: the in-process tier in front of Redis hears every instance's writes
//! on it, and serves only while it hears.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;

use super::digest::Digest;
use super::local::Local;
use super::shared::{Message, Shared};

/// Follow the channel of writes, for the in-process tier in front of Redis: the tier serves
/// only while subscribed and while Redis answers a ping every [`HEARTBEAT`] (a Redis that
/// stalls delivers no message, and other instances cannot announce their writes), and starts
/// empty each time it serves again.
pub(super) async fn listen(shared: Arc<Shared>, local: Arc<Local>) {
    let mut wait = Duration::from_millis(50);
    loop {
        let timeout = shared.timeout();
        let connect = tokio::time::timeout(timeout, shared.client().get_async_pubsub()).await;
        if let Ok(Ok(mut pubsub)) = connect
            && let Ok(Ok(())) =
                tokio::time::timeout(timeout, pubsub.subscribe(shared.channel())).await
        {
            local.turn_on();
            wait = Duration::from_millis(50);
            let (mut sink, mut messages) = pubsub.split();
            let mut heartbeat = tokio::time::interval(HEARTBEAT);
            loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(message) = message else { break };
                        let Ok(payload) = message.get_payload::<Vec<u8>>() else {
                            continue;
                        };
                        match serde_json::from_slice::<Message>(&payload) {
                            Ok(message) => apply(&local, message).await,
                            // A message not understood: forget everything rather than guess.
                            Err(_) => local.clear(),
                        }
                    }
                    _ = heartbeat.tick() => {
                        if !matches!(tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await, Ok(Ok(_))) {
                            break;
                        }
                    }
                }
            }
            tracing::info!("the channel of cache invalidations closed: the in-process tier stops");
        }
        local.turn_off();
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
}

/// How often the in-process tier in front of Redis checks that Redis answers.
const HEARTBEAT: Duration = Duration::from_millis(250);

/// Forget in the process what another instance (or this one) announced.
async fn apply(local: &Local, message: Message) {
    if message.e == 1 {
        local.clear();
    }
    for write in message.w {
        let digests: Option<Vec<Digest>> = write.k.iter().map(|d| Digest::from_hex(d)).collect();
        match digests {
            Some(digests) if !write.a => local.invalidate(&write.t, false, &digests).await,
            _ => local.invalidate(&write.t, true, &[]).await,
        }
    }
    for table in message.c {
        local.invalidate(&table, true, &[]).await;
    }
}
