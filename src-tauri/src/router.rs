//! The engine inside the app: started on Tauri's async runtime (no second process), stopped
//! with a drain, restarted on request; its status is watched by the tray.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use ninerouter::engine::{Core, Engine, EngineError, EngineOptions};
use tokio::sync::{Mutex, watch};

#[derive(Clone)]
pub enum Status {
    Starting,
    Running(Arc<Core>),
    /// The port is taken by another program; `free` is a nearby port that is not.
    PortTaken {
        port: u16,
        free: Option<u16>,
    },
    Failed(String),
}

pub struct RouterHost {
    options: EngineOptions,
    engine: Mutex<Option<Engine>>,
    status: watch::Sender<Status>,
}

impl RouterHost {
    pub fn new(options: EngineOptions) -> Self {
        Self {
            options,
            engine: Mutex::new(None),
            status: watch::Sender::new(Status::Starting),
        }
    }

    pub fn watch(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub fn core(&self) -> Option<Arc<Core>> {
        match self.status() {
            Status::Running(core) => Some(core),
            _ => None,
        }
    }

    /// `http://127.0.0.1:20128` while the router runs.
    pub fn endpoint(&self) -> Option<String> {
        self.core().map(|c| format!("http://{}", c.listen.addr))
    }

    /// Starts the router (on `port` instead of the configured one, if given). Does nothing
    /// when it already runs.
    pub async fn start(&self, port: Option<u16>) {
        let mut engine = self.engine.lock().await;
        if engine.is_some() {
            return;
        }
        self.status.send_replace(Status::Starting);
        let mut options = self.options.clone();
        if port.is_some() {
            options.port = port;
        }
        let status = match Engine::start(options).await {
            Ok(started) => {
                let core = started.core();
                *engine = Some(started);
                Status::Running(core)
            }
            Err(EngineError::Bind { addr, source })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                tracing::warn!(%addr, "the router's port is taken");
                Status::PortTaken {
                    port: addr.port(),
                    free: free_port_near(addr),
                }
            }
            Err(e) => {
                tracing::error!("the router could not start: {e}");
                Status::Failed(e.to_string())
            }
        };
        self.status.send_replace(status);
    }

    /// Stops the router, letting in-flight requests finish first.
    pub async fn stop(&self) {
        let Some(engine) = self.engine.lock().await.take() else {
            return;
        };
        self.status.send_replace(Status::Starting);
        engine.stop().await;
        self.status
            .send_replace(Status::Failed("stopped".to_owned()));
    }
}

/// The first of the next twenty ports that can be bound now.
fn free_port_near(addr: SocketAddr) -> Option<u16> {
    (1..=20u16)
        .filter_map(|d| addr.port().checked_add(d))
        .find(|&p| TcpListener::bind(SocketAddr::new(addr.ip(), p)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ninerouter::secrets::BackendChoice;

    fn options(dir: &std::path::Path, port: u16) -> EngineOptions {
        EngineOptions {
            port: Some(port),
            data_dir: dir.to_path_buf(),
            secrets: BackendChoice::Memory,
            ..EngineOptions::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_taken_port_is_reported_with_a_free_one_and_retrying_elsewhere_works()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let squatter = TcpListener::bind("127.0.0.1:0")?;
        let port = squatter.local_addr()?.port();
        let host = RouterHost::new(options(dir.path(), port));
        host.start(None).await;
        let Status::PortTaken {
            port: taken,
            free: Some(free),
        } = host.status()
        else {
            anyhow::bail!("expected the port to be reported taken");
        };
        assert_eq!(taken, port);
        assert!(free > port);
        host.start(Some(free)).await;
        assert_eq!(host.endpoint(), Some(format!("http://127.0.0.1:{free}")));
        host.stop().await;
        assert!(host.core().is_none());
        // Free again: a retry on the configured port now succeeds.
        drop(squatter);
        host.start(None).await;
        assert_eq!(host.endpoint(), Some(format!("http://127.0.0.1:{port}")));
        host.stop().await;
        Ok(())
    }
}
