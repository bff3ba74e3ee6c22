//! sockwire-std: binds the sans-IO core to std sockets.
