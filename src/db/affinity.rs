//! Where the database writer runs (`WRITER_CPU`, docs/decisions.md#writer-core).
//!
//! When the writer's SQLite statements ran on sqlx's worker thread, every statement was a
//! hand-off between two threads, and on different cores each hand-off was a cross-core wake-up
//! (80 % of the writer's time on a 2-core virtual machine, throughput swinging 3× between runs).
//! Pinning the writer before it opened its connection put the worker on the same core: 4–5× the
//! single-write throughput. The writer now runs SQLite statements itself (db/write_conn.rs) and
//! pinning measures level with not pinning; it stays, for steady caches and wake-ups.
//!
//! On PostgreSQL the writer waits on the server for every statement; kept on one core its
//! wake-ups are steady too (measured about 3× the single upserts, docs/benchmarks.md).
//!
//! Only the writer is pinned; request handling and reads use every core.

pub use crate::config::WriterCpu;

/// The core the writer should use, given the cores this thread may run on.
pub fn choose(setting: WriterCpu, allowed: &[usize]) -> Result<Option<usize>, String> {
    match setting {
        WriterCpu::Off => Ok(None),
        WriterCpu::Auto if allowed.len() < 2 => Ok(None),
        WriterCpu::Auto => Ok(allowed.last().copied()),
        WriterCpu::Core(core) if allowed.contains(&core) => Ok(Some(core)),
        WriterCpu::Core(core) => Err(format!("WRITER_CPU={core}: this process may only use cores {allowed:?}")),
    }
}

/// Pins the calling thread as `setting` says; returns the core, if any. Call it on the writer
/// thread before the connection is opened. Where the platform cannot pin, the writer runs
/// unpinned (and says so).
pub fn pin_current_thread(setting: WriterCpu) -> Result<Option<usize>, String> {
    let allowed: Vec<usize> = core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
    let Some(core) = choose(setting, &allowed)? else { return Ok(None) };
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(Some(core))
    } else {
        tracing::warn!(core, "could not pin the writer to a core; it runs unpinned");
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_pins_the_writer_to_the_last_allowed_core() {
        assert_eq!(choose(WriterCpu::Auto, &[0, 1]), Ok(Some(1)));
        assert_eq!(choose(WriterCpu::Auto, &[2, 5, 7]), Ok(Some(7)));
        assert_eq!(choose(WriterCpu::Auto, &[0]), Ok(None), "one core: nothing to gain");
        assert_eq!(choose(WriterCpu::Off, &[0, 1]), Ok(None));
        assert_eq!(choose(WriterCpu::Core(0), &[0, 1]), Ok(Some(0)));
        assert!(choose(WriterCpu::Core(9), &[0, 1]).is_err());
    }

    #[test]
    fn the_setting_reads_auto_off_or_a_number() {
        assert_eq!("auto".parse(), Ok(WriterCpu::Auto));
        assert_eq!("off".parse(), Ok(WriterCpu::Off));
        assert_eq!(" 3 ".parse(), Ok(WriterCpu::Core(3)));
        assert!("fast".parse::<WriterCpu>().is_err());
    }
}
