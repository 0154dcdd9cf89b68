//! SDK clients built on first use.
//!
//! Building a service client runs the SDK's runtime plugins, and the first client of each service crate
//! parses that crate's embedded endpoint-partition table and compiles its region regexes: about 420,000
//! instructions per service, most of a function's init once the TLS connector is lazy
//! (bench/coldstart/README.md). An adapter holds a [`LazyClient`], so that work happens on the first call
//! to that service, and never in a cold start whose invocations do not call it.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// A client built by the first dereference (then kept); cloning shares it.
pub struct LazyClient<C>(Arc<Inner<C>>);

struct Inner<C> {
    cell: OnceLock<C>,
    make: Box<dyn Fn() -> C + Send + Sync>,
}

impl<C: Clone + Send + Sync + 'static> LazyClient<C> {
    /// Built by `make` on first use.
    pub fn new(make: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self(Arc::new(Inner { cell: OnceLock::new(), make: Box::new(make) }))
    }

    /// Already built (tests, tools).
    pub fn ready(client: C) -> Self {
        let copy = client.clone();
        Self(Arc::new(Inner { cell: OnceLock::from(client), make: Box::new(move || copy.clone()) }))
    }

    /// Whether the client has been built yet.
    pub fn is_built(&self) -> bool {
        self.0.cell.get().is_some()
    }
}

impl<C> Deref for LazyClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.0.cell.get_or_init(|| (self.0.make)())
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C: fmt::Debug> fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.cell.get() {
            Some(client) => f.debug_tuple("LazyClient").field(client).finish(),
            None => f.write_str("LazyClient(<not built yet>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn built_once_on_first_use_and_shared_by_clones() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&builds);
        let lazy = LazyClient::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            String::from("client")
        });
        let copy = lazy.clone();
        assert!(!lazy.is_built());
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing is built up front");
        assert_eq!(copy.as_str(), "client");
        assert_eq!(lazy.as_str(), "client");
        assert!(lazy.is_built());
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_ready_client_is_built() {
        let lazy = LazyClient::ready(7_u8);
        assert!(lazy.is_built());
        assert_eq!(*lazy, 7);
    }
}
