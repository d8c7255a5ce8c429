//! The live side of the event log: one tailer per process reads committed events in id
//! order and fans them out to every stream (decisions.md#event-log, #event-ordering).

pub mod hub;
pub mod prune;
pub mod stream;
pub mod usage;
