//! The VMBus protocol: channel messages, ring buffers and packets.
