//! The binary's memory allocator: jemalloc, with one arena. Included by `src/main.rs` and by the
//! crawl benchmark (so that its CPU and RSS figures are the binary's); the library sets none, so
//! programs linking the parser keep their own.
//!
//! Measured with the crawl benchmark (8 hosts, 5,000 reports): glibc's malloc cost ~10% more CPU
//! per page (malloc_consolidate, _int_free); mimalloc was as fast as jemalloc but its peak RSS was
//! twice as high; jemalloc's default of 8 arenas on two cores added ~6 MB of RSS over one arena,
//! for no CPU gain (pages are processed on one thread).

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's compile-time options (its `malloc_conf`), read before `main`; `_RJEM_MALLOC_CONF` in
/// the environment still overrides them.
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 10] = b"narenas:1\0";

/// Gives every page jemalloc holds free back to the OS at once. jemalloc keeps freed pages for ten
/// seconds for reuse; called between the crawl and its closing compaction (src/store/compact.rs),
/// it took the crawl benchmark's RSS from 48 to 40 MB before the compaction's own ~27 MB.
pub fn release_free_memory() {
    // `MALLCTL_ARENAS_ALL`: every arena.
    let name = b"arena.4096.purge\0";
    // SAFETY: a NUL-terminated control name taking no input and giving no output.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}
