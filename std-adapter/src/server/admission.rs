//! [`Gate`]: caps on how many of something (connections, SockJS sessions) the server
//! holds, in all and per client address, so that one client cannot take them all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// How many may be held at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// In all.
    pub total: usize,
    /// From one client address.
    pub per_address: usize,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Admits up to its [`Caps`]; each admission is held by an [`Admitted`] until dropped.
#[derive(Debug)]
pub struct Gate {
    caps: Caps,
    held: Mutex<Held>,
}

impl Gate {
    /// A gate with these caps.
    pub fn new(caps: Caps) -> Arc<Gate> {
        Arc::new(Gate {
            caps,
            held: Mutex::new(Held::default()),
        })
    }

    /// One more from `address`, unless a cap is reached.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Admitted> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let from = held.by_address.get(&address).copied().unwrap_or(0);
        if held.total >= self.caps.total || from >= self.caps.per_address {
            return None;
        }
        held.total += 1;
        held.by_address.insert(address, from + 1);
        Some(Admitted {
            gate: self.clone(),
            address,
        })
    }

    /// How many are held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    fn release(&self, address: IpAddr) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.total = held.total.saturating_sub(1);
        if let Some(n) = held.by_address.get_mut(&address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.by_address.remove(&address);
            }
        }
    }
}

/// One admission through a [`Gate`], given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    gate: Arc<Gate>,
    address: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.gate.release(self.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_in_all_and_per_address_and_release_on_drop() {
        let gate = Gate::new(Caps {
            total: 3,
            per_address: 2,
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        let a1 = gate.admit(a).unwrap();
        let _a2 = gate.admit(a).unwrap();
        assert!(gate.admit(a).is_none(), "per address");
        let _b1 = gate.admit(b).unwrap();
        assert!(gate.admit(c).is_none(), "in all");
        drop(a1);
        assert_eq!(gate.held(), 2);
        let _c1 = gate.admit(c).unwrap();
        assert!(gate.admit(a).is_none(), "in all again");
    }
}
