//! The binary's memory allocator: jemalloc, with one arena. Included by `src/main.rs` and by the
//! crawl benchmark (so that its CPU and RSS figures are the binary's); the library sets none, so
//! programs linking the parser keep their own.
//!
//! Measured with the crawl benchmark (8 hosts, 5,000 reports): glibc's malloc cost ~10% more CPU
//! per page (malloc_consolidate, _int_free); mimalloc was as fast as jemalloc but its peak RSS was
//! twice as high; jemalloc's default of 8 arenas on two cores added ~6 MB of RSS over one arena,
//! for no CPU gain (pages are processed on one thread).

use std::ffi::CStr;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's compile-time options (its `malloc_conf`), read before `main`; `_RJEM_MALLOC_CONF` in
/// the environment still overrides them.
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 10] = b"narenas:1\0";

/// From now on, gives pages back to the OS as soon as they are free, and gives back those already
/// free. jemalloc keeps freed pages for ten seconds for reuse, which suits the crawl; the
/// compaction that follows it (src/store/compact.rs) reads and writes the whole archive once and
/// frees as it goes. Measured with the crawl benchmark: the compaction had raised the process's
/// peak RSS from 51 to 59–67 MB; with this (and its copying in chunks), it stays below the crawl's own peak.
pub fn give_back_free_memory_at_once() {
    let mut arenas: u32 = 0;
    let mut len = std::mem::size_of::<u32>();
    // SAFETY: `arenas.narenas` writes one u32 into `arenas`, whose size `len` gives.
    let read = unsafe { mallctl(c"arenas.narenas", (&raw mut arenas).cast(), &mut len, std::ptr::null_mut(), 0) };
    // Arena 0 is the one `narenas:1` asks for; jemalloc adds one for very large allocations.
    let arenas = if read == 0 { arenas } else { 1 };
    for arena in 0..arenas {
        let name = std::ffi::CString::new(format!("arena.{arena}.dirty_decay_ms")).expect("no NUL");
        let mut decay_ms: isize = 0;
        // SAFETY: `arena.<i>.dirty_decay_ms` reads one isize from `decay_ms`, whose size is given.
        unsafe {
            mallctl(&name, std::ptr::null_mut(), std::ptr::null_mut(), (&raw mut decay_ms).cast(), size_of::<isize>())
        };
    }
    // SAFETY: `arena.<MALLCTL_ARENAS_ALL>.purge` takes no input and gives no output.
    unsafe { mallctl(c"arena.4096.purge", std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0) };
}

/// jemalloc's `mallctl`; its return value is 0 or an errno, which callers may ignore: these
/// controls only tune memory use.
unsafe fn mallctl(
    name: &CStr,
    old: *mut std::ffi::c_void,
    old_len: *mut usize,
    new: *mut std::ffi::c_void,
    new_len: usize,
) -> i32 {
    // SAFETY: the caller passes buffers that match the control `name` names.
    unsafe { tikv_jemalloc_sys::mallctl(name.as_ptr(), old, old_len, new, new_len) }
}
