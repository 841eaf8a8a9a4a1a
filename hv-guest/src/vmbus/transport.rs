//! What the VMBus client needs from the SynIC: posting messages and signalling events.

use hv_defs::status::HvError;

/// The guest's two ways of reaching the host, implemented by the SynIC code (and by scripted
/// hosts in tests).
///
/// The other direction is not part of this trait: the caller owns the SynIC message slot of
/// SINT [`VMBUS_MESSAGE_SINT`](hv_defs::vmbus::VMBUS_MESSAGE_SINT), copies each VMBus message's
/// payload out of it, completes the slot's end-of-message protocol (TLFS 11.10.3), and feeds
/// the copy to [`VmbusClient::handle_message`](super::VmbusClient::handle_message). Channel
/// interrupts (SIEF flags from 2.4 on, the interrupt page before) are likewise the caller's;
/// it then reads the signalled channels.
///
/// The client calls these methods only from its own methods that take the transport, and
/// never while it is half-way through changing its state: a failed call leaves the client as
/// it was before that call (see each client method's errors).
pub trait VmbusTransport {
    /// Posts a message with `HvPostMessage` (TLFS 11.11.1): `payload` (at most
    /// [`VMBUS_MAX_MESSAGE_SIZE`](hv_defs::vmbus::VMBUS_MAX_MESSAGE_SIZE) = 240 bytes, the
    /// exact message length) as SynIC message type `message_type` (always
    /// [`VMBUS_SYNIC_MESSAGE_TYPE`](hv_defs::vmbus::VMBUS_SYNIC_MESSAGE_TYPE) = 1 here) to
    /// `connection_id`.
    ///
    /// # Errors
    ///
    /// The hypercall's failure status. [`HvError::INSUFFICIENT_BUFFERS`] (the host's message
    /// queue is full) means "retry later"; the client reports it with
    /// [`Error::is_retryable`](super::Error::is_retryable). [`HvError::INVALID_CONNECTION_ID`]
    /// on connection 4 means the host does not speak VMBus 5.0 (Linux `connection.c`
    /// `vmbus_post_msg`).
    fn post_message(
        &mut self,
        connection_id: u32,
        message_type: u32,
        payload: &[u8],
    ) -> Result<(), HvError>;

    /// Signals event flag 0 of `connection_id` with `HvSignalEvent` (TLFS 11.11.2), as Linux
    /// does (`hv_do_fast_hypercall8(HVCALL_SIGNAL_EVENT, channel->sig_event)` with the flag
    /// number zero).
    ///
    /// Before VMBus 5.0, for a channel without a dedicated interrupt, the client has already
    /// set the channel's bit in the send half of the interrupt page when it calls this (Linux
    /// `vmbus_set_event`); the transport does nothing extra.
    ///
    /// # Errors
    ///
    /// The hypercall's failure status.
    fn signal_event(&mut self, connection_id: u32) -> Result<(), HvError>;
}
