//! The loop every store writer runs: wait for work, take whatever has queued up since as one
//! batch (one transaction for the writer), and on `stop` drain the queue before returning.

use std::future::Future;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

pub async fn in_batches<T, F, Fut>(
    mut queue: UnboundedReceiver<T>,
    mut stop: watch::Receiver<bool>,
    max: usize,
    mut write: F,
) where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        let first = tokio::select! {
            item = queue.recv() => item,
            _ = stop.wait_for(|stop| *stop) => None,
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while batch.len() < max
            && let Ok(more) = queue.try_recv()
        {
            batch.push(more);
        }
        write(batch).await;
    }
    loop {
        let rest: Vec<T> = std::iter::from_fn(|| queue.try_recv().ok())
            .take(max)
            .collect();
        if rest.is_empty() {
            break;
        }
        write(rest).await;
    }
}
