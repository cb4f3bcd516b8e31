//! A value an administrator can replace while the server runs (the users
//! file on SIGHUP): every session reads the current one when it needs it,
//! and sessions that already took theirs keep it.

use std::fmt;
use std::sync::{Arc, RwLock};

/// A shared, replaceable value; clones see the same one.
pub struct Reloadable<T>(Arc<RwLock<Arc<T>>>);

impl<T> Reloadable<T> {
    /// Starts with `value`.
    pub fn new(value: T) -> Self {
        Reloadable::from(Arc::new(value))
    }

    /// The value now.
    pub fn current(&self) -> Arc<T> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// From now on, `value`.
    pub fn replace(&self, value: T) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }
}

impl<T> From<Arc<T>> for Reloadable<T> {
    fn from(value: Arc<T>) -> Self {
        Reloadable(Arc::new(RwLock::new(value)))
    }
}

impl<T> Clone for Reloadable<T> {
    fn clone(&self) -> Self {
        Reloadable(Arc::clone(&self.0))
    }
}

impl<T> fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reloadable(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_see_a_replacement_and_earlier_readers_keep_theirs() {
        let a = Reloadable::new(1);
        let b = a.clone();
        let before = a.current();
        b.replace(2);
        assert_eq!((*before, *a.current()), (1, 2));
    }
}
