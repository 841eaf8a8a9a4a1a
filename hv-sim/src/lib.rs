//! A model of the Hyper-V host (placeholder until the machine lands).
