//! What every fake provider shares: its state behind one lock, an axum app over that state
//! served on an ephemeral loopback port, and its base address. A fake is its state type, its
//! routes and its own methods on `Fake<ItsState>`.

use std::sync::{Arc, Mutex, MutexGuard};

/// The state a fake's handlers take.
pub type Shared<S> = axum::extract::State<Arc<Mutex<S>>>;

pub struct Fake<S> {
    state: Arc<Mutex<S>>,
    pub base: String,
}

impl<S> Clone for Fake<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            base: self.base.clone(),
        }
    }
}

impl<S: Send + 'static> Fake<S> {
    /// Serves `routes` over `state` on loopback.
    pub async fn serve(state: Arc<Mutex<S>>, routes: axum::Router<Arc<Mutex<S>>>) -> Self {
        let app = routes.with_state(state.clone());
        let base = format!("http://{}", super::serve_on_loopback(app).await);
        Self { state, base }
    }

    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.state.lock().expect("lock")
    }
}
